// What mutual TLS costs on the demo's hops: the demo mesh (npm start's launcher, on the cold start's
// addresses) under the same open-loop load with a mesh-wide PeerAuthentication of DISABLE (plain text on
// every hop) and of STRICT (mutual TLS on every hop), interleaved; CPU per request of all the mesh's proxies
// and the latency percentiles, plus what one new mTLS connection costs against a plain one.
//   node bench/mtls-cost.ts [--rate 300] [--seconds 10] [--rounds 2] [--handshakes 300]
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ProxyStatusList } from '../packages/api/src/index.ts';
import { startMesh } from '../packages/demo/src/launcher/mesh.ts';
import { podAddress } from '../packages/demo/src/topology.ts';
import { makeKeyAndCsr } from '../packages/proxy/src/identity/csr.ts';
import { COLD_START_PLAN } from './lib/cold-start.ts';
import { runOpenLoop } from './lib/open-loop.ts';
import { cpuSeconds } from './lib/procfs.ts';
import { median } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    handshakes: { type: 'string', default: '300' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const handshakes = Number(values.handshakes);
const benchDir = new URL('.', import.meta.url).pathname;

const stateDir = await mkdtemp(join(tmpdir(), 'strait-mtls-cost-'));
const mesh = await startMesh({
  plan: COLD_START_PLAN,
  stateDir,
  logDir: join(stateDir, 'logs'),
  prometheus: false,
});
const token = readFileSync(mesh.apiTokenFile, 'utf8').trim();
const proxies = [...mesh.processes.values()].filter(
  (p) => p.name.endsWith('-sidecar') || p.name.startsWith('istio-'),
);

async function proxiesStatus() {
  const res = await fetch(`${mesh.controlPlaneUrl}/v1/proxies`);
  return ((await res.json()) as ProxyStatusList).proxies;
}

/** Applies a mesh-wide PeerAuthentication and waits until every proxy ACKed it. */
async function setMode(mode: 'STRICT' | 'DISABLE'): Promise<void> {
  const res = await fetch(`${mesh.controlPlaneUrl}/v1/resources`, {
    method: 'PUT',
    headers: { 'content-type': 'application/yaml', authorization: `Bearer ${token}` },
    body: `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec: { mtls: { mode: ${mode} } }\n`,
  });
  if (!res.ok) throw new Error(`PUT ${res.status}: ${await res.text()}`);
  // Past the push debounce, then until every proxy has ACKed what it should run.
  await new Promise((r) => setTimeout(r, 500));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await proxiesStatus();
    if (rows.every((r) => r.connected && r.status === 'SYNCED')) break;
    if (Date.now() > deadline) throw new Error('proxies did not sync');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000));
}

interface Phase {
  mode: string;
  cpuPer1000: number;
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

async function phase(mode: 'STRICT' | 'DISABLE'): Promise<Phase> {
  await setMode(mode);
  let cpuStart = 0;
  let cpuEnd = 0;
  const cpu = () => proxies.reduce((sum, p) => sum + (p.pid ? cpuSeconds(p.pid) : 0), 0);
  const result = await runOpenLoop({
    benchDir,
    url: mesh.ingressUrl,
    rate,
    durationS: seconds,
    warmupS: 2,
    connections: 32,
    onWindowStart: () => {
      cpuStart = cpu();
    },
    onWindowEnd: () => {
      cpuEnd = cpu();
    },
  });
  return {
    mode,
    cpuPer1000: ((cpuEnd - cpuStart) / Math.max(1, result.completed)) * 1000,
    p50: result.latencyMs.p50,
    p99: result.latencyMs.p99,
    rps: result.achievedRps,
    errors: result.errors + result.non2xx,
  };
}

/** N sequential requests, each on a new connection, to service-b-v1-1's inbound; ms each and its proxy's CPU ms each. */
async function freshConnections(tls: { key: string; cert: string; ca: string } | undefined) {
  const host = podAddress(COLD_START_PLAN, 'service-b-v1-1');
  const b = mesh.process('service-b-v1-1-sidecar');
  const cpu0 = b.pid ? cpuSeconds(b.pid) : 0;
  const started = performance.now();
  for (let i = 0; i < handshakes; i++) {
    await new Promise<void>((resolve, reject) => {
      const options = { host, port: 15006, path: '/', agent: false as const };
      const req = tls
        ? httpsRequest({ ...options, ...tls, checkServerIdentity: () => undefined }, (res) =>
            res.resume().on('end', resolve),
          )
        : httpRequest(options, (res) => res.resume().on('end', resolve));
      req.on('error', reject);
      req.end();
    });
  }
  const ms = (performance.now() - started) / handshakes;
  const cpuMs = (((b.pid ? cpuSeconds(b.pid) : 0) - cpu0) * 1000) / handshakes;
  return { ms, cpuMs };
}

try {
  const phases: Phase[] = [];
  for (let r = 0; r < rounds; r++) {
    phases.push(await phase('DISABLE'));
    phases.push(await phase('STRICT'));
  }
  const of = (mode: string, key: keyof Phase) =>
    median(phases.filter((p) => p.mode === mode).map((p) => p[key] as number));
  const joinToken = readFileSync(mesh.joinTokenFile, 'utf8').trim();
  const { keyPem, csrPem } = await makeKeyAndCsr('spiffe://cluster.local/ns/default/sa/bench-client');
  const issued = (await (
    await fetch(`${mesh.controlPlaneUrl}/v1/certificates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${joinToken}` },
      body: JSON.stringify({ csr: csrPem }),
    })
  ).json()) as { certificateChain: string[]; trustBundle: string[] };
  const mtlsNew = await freshConnections({
    key: keyPem,
    cert: issued.certificateChain.join('\n'),
    ca: issued.trustBundle.join('\n'),
  });
  await setMode('DISABLE');
  const plainNew = await freshConnections(undefined);
  const row = (mode: string) =>
    `| ${mode} | ${of(mode, 'rps').toFixed(0)} | ${of(mode, 'p50').toFixed(3)} | ${of(mode, 'p99').toFixed(3)} | ${of(mode, 'cpuPer1000').toFixed(3)} | ${of(mode, 'errors')} |`;
  process.stdout.write(
    [
      `demo chain (ingress → sidecar A → A → sidecar A → sidecar B → B → sidecar B → egress → external API), ${rate} req/s open loop, ${seconds} s × ${rounds} rounds each, medians; CPU of all 7 proxies`,
      '| hops | req/s | p50 ms | p99 ms | proxies CPU s / 1000 req | errors |',
      '|---|---:|---:|---:|---:|---:|',
      row('DISABLE'),
      row('STRICT'),
      `mTLS / plain: CPU per request ${(of('STRICT', 'cpuPer1000') / of('DISABLE', 'cpuPer1000')).toFixed(2)}×, p50 ${(of('STRICT', 'p50') / of('DISABLE', 'p50')).toFixed(2)}×`,
      `a new connection to a sidecar's inbound, ${handshakes} in a row: mTLS ${mtlsNew.ms.toFixed(2)} ms and ${mtlsNew.cpuMs.toFixed(2)} ms of the sidecar's CPU each; plain ${plainNew.ms.toFixed(2)} ms and ${plainNew.cpuMs.toFixed(2)} ms`,
      '',
    ].join('\n'),
  );
} finally {
  await mesh.stop();
  await rm(stateDir, { recursive: true, force: true });
}
