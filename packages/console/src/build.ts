// Builds the console's page into dist/: web/main.ts bundled with cytoscape and cytoscape-dagre into one
// script, plus index.html and console.css. Nothing is fetched from elsewhere at run time.
//   npm run build -w @strait/console     (or: node packages/console/src/build.ts [--outdir DIR])
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const webDir = join(packageDir, 'web');

/** Bundles the page into `outdir` (default dist/); returns the folder. */
export async function buildConsole(outdir = join(packageDir, 'dist')): Promise<string> {
  // esbuild is a dev dependency: a production install (npm ci --omit=dev) cannot build and need not.
  const { build } = await import('esbuild');
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: { console: join(webDir, 'main.ts') },
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'chrome120',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'console.css']) copyFileSync(join(webDir, file), join(outdir, file));
  // The folder is build output: git and Biome leave it alone.
  writeFileSync(join(outdir, '.gitignore'), '*\n');
  writeFileSync(
    join(outdir, 'biome.json'),
    `${JSON.stringify({ root: false, files: { includes: ['!**'] } }, null, 2)}\n`,
  );
  return outdir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const dir = await buildConsole(values.outdir ? resolve(values.outdir) : undefined);
  process.stdout.write(`built the console into ${dir}\n`);
}
