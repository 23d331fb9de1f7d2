// Builds straitctl for installing: dist/straitctl.mjs, one ESM file with @strait/api and every dependency
// inside, so `npm pack`'s tarball installs and runs on Node 24 with nothing else (npm pack runs this first).
//   npm run build -w @strait/cli        (or: node packages/cli/scripts/build.ts [--outdir DIR])
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleNodeProgram } from '../../../scripts/bundle-node.ts';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles src/main.ts into `outdir`; returns the bundle's path. */
export function buildStraitctl(outdir = join(packageDir, 'dist')): Promise<string> {
  return bundleNodeProgram({ entry: join(packageDir, 'src/main.ts'), name: 'straitctl', outdir });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const file = await buildStraitctl(values.outdir ? resolve(values.outdir) : undefined);
  process.stdout.write(`built ${file}\n`);
}
