// `node bench/tracing-ab.ts [--rounds N] [--requests N]`: tracing's CPU cost per request, A/B on one
// machine at one time. Three copies of the same sidecar hop (tracing off, at 1 %, at 100 %, exporting OTLP to
// the upstream app) run side by side; each round sends the same batch of requests to each in turn (the
// order rotating) and reads each proxy's CPU time from /proc around its batch. Short interleaved batches put
// all three under the same background load, which whole-benchmark rows on a shared machine cannot.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Ports, type SnapshotInput } from '@strait/api';
import { Agent, request } from 'undici';
import { type Started, start, stopAll, waitForHttp } from './lib/processes.ts';
import { cpuSeconds } from './lib/procfs.ts';
import { median } from './lib/stats.ts';
import { proxyLaunch, sidecarSnapshot, startProxy } from './lib/strait.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    requests: { type: 'string', default: '3000' },
    'cpu-prof': { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const perBatch = Number(values.requests);
const repoRoot = resolve(import.meta.dirname, '..');
const workDir = mkdtempSync(join(tmpdir(), 'strait-tracing-ab-'));
const UPSTREAM = { host: '127.0.122.1', port: 8080 };
const VARIANTS = [
  { name: 'off', address: '127.0.122.2', percent: undefined },
  { name: '1 %', address: '127.0.122.3', percent: 1 },
  { name: '100 %', address: '127.0.122.4', percent: 100 },
] as const;

function snapshotFor(percent: number | undefined): SnapshotInput {
  const snapshot = sidecarSnapshot({ appAddress: UPSTREAM.host, appPort: UPSTREAM.port, appWorkload: 'hop' });
  if (percent !== undefined)
    snapshot.telemetry = {
      accessLog: true,
      tracing: {
        provider: 'ab',
        samplingPercentage: percent,
        collector: { ...UPSTREAM, path: '/v1/traces' },
      },
    };
  return snapshot;
}

/** `count` GETs through one proxy, 16 at a time on kept-alive connections. */
async function batch(agent: Agent, url: string, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next++ < count) {
      const res = await request(url, { dispatcher: agent });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

const started: Started[] = [];
try {
  const upstream = start(workDir, {
    name: 'upstream',
    command: process.execPath,
    args: [join(repoRoot, 'bench/apps/app.ts'), '--listen', `${UPSTREAM.host}:${UPSTREAM.port}`],
  });
  started.push(upstream);
  await waitForHttp(`http://${UPSTREAM.host}:${UPSTREAM.port}/`, upstream, 10_000);
  const launch = proxyLaunch(repoRoot, false);
  const proxies = [];
  for (const v of VARIANTS) {
    const proc = await startProxy(
      repoRoot,
      workDir,
      {
        name: `hop-${v.percent ?? 'off'}`,
        role: 'sidecar',
        address: v.address,
        workload: 'hop',
        service: 'hop',
        appAddress: UPSTREAM.host,
        appPort: UPSTREAM.port,
        snapshot: snapshotFor(v.percent),
      },
      launch,
      values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [],
    );
    started.push(proc);
    proxies.push({
      ...v,
      proc,
      url: `http://${v.address}:${Ports.sidecarInbound}/`,
      agent: new Agent({ connections: 16 }),
      micros: [] as number[],
    });
  }
  const loadStart = loadavg()[0] ?? 0;
  // A warm-up batch each, not counted.
  for (const p of proxies) await batch(p.agent, p.url, perBatch);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < proxies.length; k++) {
      const p = proxies[(round + k) % proxies.length] as (typeof proxies)[number];
      const before = cpuSeconds(p.proc.pid);
      await batch(p.agent, p.url, perBatch);
      p.micros.push(((cpuSeconds(p.proc.pid) - before) * 1e6) / perBatch);
    }
  }
  const off = median(proxies[0]?.micros ?? []);
  process.stdout.write(
    `tracing A/B (${launch.runs}): ${rounds} rounds × ${perBatch} requests per variant; load average ${loadStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end\n`,
  );
  for (const p of proxies) {
    const m = median(p.micros);
    const extra =
      p.percent === undefined
        ? ''
        : `  (${m >= off ? '+' : ''}${((100 * (m - off)) / off).toFixed(1)} % vs off)`;
    process.stdout.write(
      `  tracing ${p.name.padEnd(6)} CPU per request ${m.toFixed(1)} µs (median of rounds)${extra}\n`,
    );
  }
  for (const p of proxies) await p.agent.close();
} finally {
  await stopAll(started);
  rmSync(workDir, { recursive: true, force: true });
}
