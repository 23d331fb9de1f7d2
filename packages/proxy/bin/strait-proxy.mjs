#!/usr/bin/env node
// The strait-proxy command: runs the built bundle (dist/strait-proxy.mjs, `npm run build -w @strait/proxy`)
// when it exists and is newer than the sources, else the TypeScript sources. STRAIT_PROXY_SOURCE=1 forces sources.
// V8's compiled code is cached on disk (Node's compile cache, NODE_COMPILE_CACHE or the temp folder; off with
// NODE_DISABLE_COMPILE_CACHE=1), so every start after the first skips compiling the bundle.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { enableCompileCache, flushCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/strait-proxy.mjs', import.meta.url));
const sourceDirs = ['../src', '../../api/src'].map((dir) => fileURLToPath(new URL(dir, import.meta.url)));

/** Newest modification time (ms) of the .ts files under a folder, 0 when there is none. */
function newestSource(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
  }
  return newest;
}

function bundleIsCurrent() {
  if (!existsSync(bundle)) return false;
  const built = statSync(bundle).mtimeMs;
  if (sourceDirs.every((dir) => newestSource(dir) <= built)) return true;
  process.stderr.write(
    'strait-proxy: dist/strait-proxy.mjs is older than the sources; running the sources\n',
  );
  return false;
}

enableCompileCache();
if (process.env.STRAIT_PROXY_SOURCE !== '1' && bundleIsCurrent()) await import(bundle);
else await import('../src/main.ts');
// Written now rather than at exit, so proxies started while this one runs find it.
flushCompileCache();
