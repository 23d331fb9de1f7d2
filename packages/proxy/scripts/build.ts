// Builds the production proxy: dist/strait-proxy.mjs, one type-stripped, tree-shaken ESM file, so that a
// running proxy loads no TypeScript stripper and only the parts of its dependencies it uses.
//   npm run build -w @strait/proxy        (or: node packages/proxy/scripts/build.ts [--outdir DIR])
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Plugin } from 'esbuild';
import { bundleNodeProgram } from '../../../scripts/bundle-node.ts';

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
export function buildProxy(outdir = join(packageDir, 'dist')): Promise<string> {
  // Modules only some proxies need (the YAML parser, for a YAML bootstrap file) go to chunks.
  return bundleNodeProgram({
    entry: join(packageDir, 'src/main.ts'),
    name: BUNDLE_NAME.replace(/\.mjs$/, ''),
    outdir,
    splitting: true,
    plugins: [nodeHttpThroughRequire],
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const file = await buildProxy(values.outdir ? resolve(values.outdir) : undefined);
  process.stdout.write(`built ${file}\n`);
}
