// Where a sidecar's idle memory goes: starts a fresh Node process per module, imports just that module
// and reports its RSS and V8 heap, next to an empty process and a TypeScript (type-stripped) one.
//   node bench/memory-probe.ts [module ...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_MODULES = [
  'undici',
  // What the proxy loads instead of the whole package: Pool, Client, Agent and the request API.
  join(repoRoot, 'packages/proxy/src/upstream/undici.ts'),
  'pino',
  'prom-client',
  'zod',
  'yaml',
  '@strait/api',
  join(repoRoot, 'packages/proxy/src/proxy.ts'),
];

// Settles for a moment so lazily compiled code is counted, then prints the numbers as JSON.
const REPORT = `await new Promise((r) => setTimeout(r, 300));
const m = process.memoryUsage();
const mb = (n) => Math.round(n / 1048576 * 10) / 10;
console.log(JSON.stringify({ rss: mb(m.rss), heapUsed: mb(m.heapUsed), external: mb(m.external) }));`;

function probe(dir: string, label: string, body: string, extension: 'mjs' | 'ts'): void {
  const file = join(dir, `probe-${Math.random().toString(36).slice(2)}.${extension}`);
  writeFileSync(file, `${body}\n${REPORT}\n`);
  try {
    const out = execFileSync(process.execPath, [file], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const m = JSON.parse(out.trim()) as { rss: number; heapUsed: number; external: number };
    process.stdout.write(
      `${label.padEnd(48)} rss ${String(m.rss).padStart(6)} MB  heap ${String(m.heapUsed).padStart(5)} MB  external ${String(m.external).padStart(5)} MB\n`,
    );
  } catch (err) {
    process.stdout.write(`${label.padEnd(48)} failed: ${(err as Error).message.split('\n')[0]}\n`);
  }
}

const modules = process.argv.slice(2).length > 0 ? process.argv.slice(2) : DEFAULT_MODULES;
// Inside the repository so that bare specifiers resolve from its node_modules.
const dir = mkdtempSync(join(repoRoot, 'node_modules', '.memory-probe-'));
// Node refuses to strip types under node_modules, so the TypeScript probe lives in the temp folder.
const tsDir = mkdtempSync(join(tmpdir(), 'memory-probe-'));
try {
  process.stdout.write(`Node ${process.version}, one fresh process per line\n`);
  probe(dir, '(empty .mjs)', '', 'mjs');
  probe(tsDir, '(empty .ts: type stripping loaded)', 'const typed: number = 1; void typed;', 'ts');
  for (const name of modules) {
    const specifier = name.startsWith('/') ? `file://${name}` : name;
    const label = name.startsWith(repoRoot) ? name.slice(repoRoot.length + 1) : name;
    probe(dir, `import ${label}`, `await import(${JSON.stringify(specifier)});`, 'mjs');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  rmSync(tsDir, { recursive: true, force: true });
}
