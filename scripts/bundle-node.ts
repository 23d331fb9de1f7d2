// Bundles one of our Node programs (the proxy, straitctl) into a single type-stripped, tree-shaken ESM file
// with every dependency inside, so the program runs without TypeScript and its package installs on its own.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';

export interface NodeBundle {
  /** The program's entry module (a .ts file). */
  entry: string;
  /** The bundle's file name without extension: `strait-proxy` gives `strait-proxy.mjs`. */
  name: string;
  outdir: string;
  /** Split modules only some runs need into chunks loaded on first use (the proxy's YAML parser). */
  splitting?: boolean;
  /** esbuild plugins of the program's own (the proxy loads node:http through require()). */
  plugins?: Plugin[];
}

/**
 * Builds the bundle; returns its path. The files are written beside the folder first and then renamed into
 * it, chunks before the entry, so a process starting the program meanwhile reads either build whole. The
 * folder is marked as build output for git and Biome, and holds the licences of the packages bundled.
 */
export async function bundleNodeProgram(o: NodeBundle): Promise<string> {
  const staging = `${o.outdir}.building-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    entryPoints: { [o.name]: o.entry },
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    splitting: o.splitting ?? false,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    plugins: o.plugins ?? [],
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // CommonJS dependencies (pino, prom-client, undici, commander) call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __straitCreateRequire } from 'node:module';\nconst require = __straitCreateRequire(import.meta.url);",
    },
    // Names are kept, so stack traces and CPU profiles stay readable; dead code is dropped. Whitespace and
    // comments go: a few non-Latin-1 characters in dependencies' comments made V8 keep the whole source
    // as a two-byte string (3.4 MB instead of 1.3 MB in every proxy's heap).
    minifySyntax: true,
    minifyWhitespace: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  writeFileSync(
    join(staging, 'THIRD-PARTY-LICENSES.txt'),
    licenceNotice(Object.keys(result.metafile.inputs)),
  );
  // Build output: git and Biome leave it alone; npm reads .npmignore instead of .gitignore, so the bundle
  // stays in the package's tarball.
  writeFileSync(join(staging, '.gitignore'), '*\n');
  writeFileSync(join(staging, '.npmignore'), 'biome.json\n');
  writeFileSync(
    join(staging, 'biome.json'),
    `${JSON.stringify({ root: false, files: { includes: ['!**'] } }, null, 2)}\n`,
  );
  const entry = `${o.name}.mjs`;
  const built = filesUnder(staging);
  const order = [...built.filter((f) => f !== entry), entry];
  for (const file of order) {
    mkdirSync(dirname(join(o.outdir, file)), { recursive: true });
    renameSync(join(staging, file), join(o.outdir, file));
  }
  const keep = new Set(built);
  for (const file of existsSync(o.outdir) ? filesUnder(o.outdir) : [])
    if (!keep.has(file)) rmSync(join(o.outdir, file));
  rmSync(staging, { recursive: true, force: true });
  return join(o.outdir, entry);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** Name, version, licence field and licence text of every npm package whose code went into the bundle. */
function licenceNotice(inputs: string[]): string {
  const packageDirs = new Set<string>();
  for (const input of inputs) {
    const parts = input.split(/[\\/]/);
    const at = parts.lastIndexOf('node_modules');
    if (at < 0) continue;
    const scoped = parts[at + 1]?.startsWith('@');
    packageDirs.add(parts.slice(0, at + (scoped ? 3 : 2)).join(sep));
  }
  const sections = [...packageDirs].sort().map((dir) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      license?: string;
    };
    const licenceFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    const text = licenceFile ? readFileSync(join(dir, licenceFile), 'utf8').trim() : '(no licence file)';
    return `${manifest.name}@${manifest.version} (${manifest.license ?? 'no licence field'})\n\n${text}\n`;
  });
  return `Packages bundled into this program, with their licences.\n\n${sections.join('\n---\n\n')}`;
}
