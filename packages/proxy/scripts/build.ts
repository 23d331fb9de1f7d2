// Builds the production proxy: one type-stripped, tree-shaken ESM file, dist/strait-proxy.mjs, so that a
// running proxy loads no TypeScript stripper and only the parts of its dependencies it uses.
//   npm run build -w @strait/proxy        (or: node packages/proxy/scripts/build.ts [--outdir DIR])
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const BUNDLE_NAME = 'strait-proxy.mjs';

/**
 * `import … from 'node:http'` in an ES module makes Node read every export of node:http, and its lazy
 * WebSocket getter then compiles Node's own copy of undici: about 0.1 s of CPU at every start, for code the
 * proxy never runs. Through require() only the exports used are read, so the bundle loads node:http that way.
 */
const nodeHttpThroughRequire: Plugin = {
  name: 'node-http-through-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?https?$/ }, (args) =>
      args.kind === 'import-statement' ? { path: args.path, namespace: 'required-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'required-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/** Bundles src/main.ts into `outdir`; returns the bundle's path. */
export async function buildProxy(outdir = join(packageDir, 'dist')): Promise<string> {
  const outfile = join(outdir, BUNDLE_NAME);
  await build({
    entryPoints: { 'strait-proxy': join(packageDir, 'src/main.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    // Modules only some proxies need (the YAML parser, for a YAML bootstrap file) go to chunks that are
    // loaded on first use.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    plugins: [nodeHttpThroughRequire],
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // CommonJS dependencies (pino, prom-client, undici) call require() for Node's built-ins.
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
    logLevel: 'warning',
  });
  // The folder is build output: git and Biome leave it alone.
  mkdirSync(outdir, { recursive: true });
  writeFileSync(join(outdir, '.gitignore'), '*\n');
  writeFileSync(
    join(outdir, 'biome.json'),
    `${JSON.stringify({ root: false, files: { includes: ['!**'] } }, null, 2)}\n`,
  );
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const file = await buildProxy(values.outdir ? resolve(values.outdir) : undefined);
  process.stdout.write(`built ${file}\n`);
}
