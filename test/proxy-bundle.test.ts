// The production bundle (packages/proxy/scripts/build.ts): built fresh into a temporary folder, started as
// its own process with TypeScript support switched off, it proxies a request, logs it and drains on SIGTERM.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProxy } from '../packages/proxy/scripts/build.ts';
import { waitFor, writeSnapshot } from './support/processes.ts';
import { cluster, listener, route, snapshot } from './support/snapshots.ts';
import { startUpstream, type TestUpstream } from './support/upstream.ts';

const POD = '127.0.110.2';
const outdir = mkdtempSync(join(tmpdir(), 'strait-bundle-'));
let upstream: TestUpstream;
let proxy: ReturnType<typeof spawn>;
let output = '';
let exited: Promise<number | null>;
let bundleText = '';

beforeAll(async () => {
  upstream = await startUpstream('app', '127.0.110.1');
  const bundle = await buildProxy(outdir);
  bundleText = readFileSync(bundle, 'utf8');
  const file = writeSnapshot(
    snapshot(
      [listener('inbound', 15006, [route('default', 'inbound|8080||')])],
      [cluster('inbound|8080||', [{ address: upstream.address, port: upstream.port }])],
      { telemetry: { accessLog: true } },
    ),
  );
  const args = ['--role', 'sidecar', '--workload', 'bundle-test', '--address', POD, '--bootstrap', file];
  // No type stripping: the bundle must not need a single .ts file.
  proxy = spawn(process.execPath, ['--no-experimental-strip-types', bundle, ...args, '--access-log'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proxy.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  proxy.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  exited = new Promise((resolve) => proxy.once('exit', (code) => resolve(code)));
  await waitFor('bundled proxy ready', async () => {
    if (proxy.exitCode !== null) throw new Error(`proxy exited: ${output}`);
    const res = await fetch(`http://${POD}:15021/healthz/ready`);
    return res.status === 200 ? true : undefined;
  });
}, 60_000);

afterAll(async () => {
  if (proxy && proxy.exitCode === null) {
    proxy.kill('SIGKILL');
    await exited;
  }
  await upstream?.close();
  rmSync(outdir, { recursive: true, force: true });
});

describe('bundled strait-proxy', () => {
  it('loads node:http through require, so Node does not compile its own undici at start-up', () => {
    expect(bundleText).toContain('require("node:http")');
    expect(bundleText).not.toMatch(/from\s*"node:https?"/);
  });

  it('proxies a request and counts it', async () => {
    const res = await request(`http://${POD}:15006/hello`, { headers: { 'x-request-id': 'bundle-1' } });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ upstream: 'app', url: '/hello' });
    expect(upstream.seen.at(-1)?.headers['x-request-id']).toBe('bundle-1');
    const metrics = await (await request(`http://${POD}:15090/stats/prometheus`)).body.text();
    expect(metrics).toMatch(/istio_requests_total\{[^}]*response_code="200"[^}]*\} 1/);
  });

  it('warms its request path before it opens its listeners, and the warm-up is neither counted nor logged', () => {
    const lines = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const warm = lines.findIndex((l) => l.msg === 'warm-up done');
    const applied = lines.findIndex((l) => l.msg === 'snapshot applied');
    expect(warm).toBeGreaterThanOrEqual(0);
    expect(lines[warm].requests).toBeGreaterThan(0);
    expect(applied).toBeGreaterThan(warm);
    expect(lines.filter((l) => l.log === 'access' && l.authority === 'warmup.strait.local')).toEqual([]);
  });

  it('writes the access line and exits cleanly on SIGTERM', async () => {
    await waitFor('access log line', () => output.includes('"x_request_id":"bundle-1"') || undefined, 5000);
    const line = output.split('\n').find((l) => l.includes('"x_request_id":"bundle-1"')) ?? '{}';
    expect(JSON.parse(line)).toMatchObject({ log: 'access', path: '/hello', response_code: 200 });
    proxy.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
