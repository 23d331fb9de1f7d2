// Probes a running demo mesh (`npm start`) the way a hostile client would and prints what each probe now
// gets: issue 9's list, from uploads with Expect to connection floods and the control plane's API.
// Usage: npm start (in one terminal), then: node bench/hostile-probes.ts [--flood 19000]
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { request } from 'undici';
import { rawExchange } from '../test/support/raw.ts';

const run = promisify(execFile);
const { values } = parseArgs({ options: { flood: { type: 'string', default: '19000' } } });
const INGRESS = '127.0.0.1';
const SIDECAR_B = '127.0.2.1';
const CP = 'http://127.0.0.1:15010';
const rows: [string, string][] = [];

function say(probe: string, answer: string): void {
  rows.push([probe, answer]);
  process.stdout.write(`- ${probe}: ${answer}\n`);
}

function statusOf(raw: string): string {
  return raw === '' ? 'no answer' : raw.slice(9, 12);
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await request(url)).body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

async function seriesCount(url: string): Promise<{ series: number; bytes: number }> {
  const text = await (await request(url)).body.text();
  return {
    series: text.split('\n').filter((l) => l.startsWith('istio_requests_total{')).length,
    bytes: text.length,
  };
}

async function ejections(): Promise<number> {
  const clusters = (await (await request(`http://${INGRESS}:15000/clusters`)).body.json()) as {
    hosts: { ejections: number }[];
  }[];
  return clusters.flatMap((c) => c.hosts).reduce((n, h) => n + h.ejections, 0);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: Math.round(performance.now() - started) };
}

async function apply(yaml: string): Promise<number> {
  const res = await request(`${CP}/v1/resources`, { method: 'PUT', body: yaml });
  await res.body.text();
  return res.statusCode;
}

async function dataPlane(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'strait-probe-'));
  const file = join(dir, '2MB.bin');
  writeFileSync(file, Buffer.alloc(2 * 1024 * 1024, 'b'));
  const before = await ejections();
  const codes: string[] = [];
  for (let i = 0; i < 6; i++) {
    const { stdout } = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--data-binary',
      `@${file}`,
      `http://${INGRESS}:8080/`,
    ]);
    codes.push(stdout);
  }
  say(
    '6 × curl --data-binary @2MB.bin (Expect: 100-continue)',
    `${codes.join(' ')}; ejections +${(await ejections()) - before}`,
  );

  const chunked: string[] = [];
  for (let i = 0; i < 6; i++)
    chunked.push(
      statusOf(
        await rawExchange(INGRESS, 8080, [
          'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
          'zz\r\nhello\r\n0\r\n\r\n',
        ]),
      ),
    );
  say('6 × chunked body "zz"', `${chunked.join(' ')}; ejections +${(await ejections()) - before}`);

  for (let i = 0; i < 6; i++) {
    const s = connect({ host: INGRESS, port: 8080 });
    s.on('error', () => {});
    s.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial');
    await new Promise((r) => setTimeout(r, 100));
    s.destroy();
  }
  say('6 × disconnect mid-body', `ejections +${(await ejections()) - before}`);

  const stats = `http://${SIDECAR_B}:15090/stats/prometheus`;
  const seriesBefore = await seriesCount(stats);
  for (let i = 0; i < 5000; i++) {
    const res = await request(`http://${SIDECAR_B}:15006/`, {
      headers: { 'x-strait-peer': `workload=forged-${i};namespace=ns${i}` },
    });
    await res.body.text();
  }
  const seriesAfter = await seriesCount(stats);
  say(
    '5000 forged x-strait-peer values at service-b-v1-1:15006',
    `istio_requests_total series ${seriesBefore.series} → ${seriesAfter.series}, scrape ${Math.round(seriesBefore.bytes / 1024)} → ${Math.round(seriesAfter.bytes / 1024)} KB`,
  );

  const forms = [
    '/x/../admin',
    '/./admin',
    '//admin',
    '/%61dmin',
    '/adm%69n',
    '/%2e%2e/admin',
    '/x/..%2fadmin',
  ];
  const block = (mode: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: probe-admin-block }
spec:
  hosts: [probe.local]
  gateways: [demo-gateway]
  http:
    - match: [{ uri: { prefix: /admin } }]
      fault: { abort: { httpStatus: 403, percentage: { value: 100 } } }
      route: [{ destination: { host: service-a } }]
---
apiVersion: strait.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec:
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
  egressGateway: { workload: istio-egressgateway }
  accessLog: true
  pathNormalization: { normalization: ${mode} }
`;
  for (const mode of ['BASE', 'DECODE_AND_MERGE_SLASHES']) {
    const applied = await apply(block(mode));
    await new Promise((r) => setTimeout(r, 1500));
    const answers: string[] = [];
    for (const form of forms)
      answers.push(
        `${form} ${statusOf(await rawExchange(INGRESS, 8080, `GET ${form} HTTP/1.1\r\nHost: probe.local\r\nConnection: close\r\n\r\n`))}`,
      );
    say(`/admin blocked, pathNormalization ${mode} (apply ${applied})`, answers.join(', '));
  }

  const absolute = await rawExchange(
    INGRESS,
    8080,
    'GET http://localhost:8080/ HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n',
  );
  say('absolute-form GET at the ingress', statusOf(absolute));
  const asterisk = await rawExchange(
    INGRESS,
    8080,
    'OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
  );
  say('OPTIONS * at the ingress', `${statusOf(asterisk)} ${/allow: [^\r]*/i.exec(asterisk)?.[0] ?? ''}`);
  const hostless = await rawExchange(INGRESS, 8080, 'GET / HTTP/1.1\r\n\r\n');
  say('HTTP/1.1 without Host', `${statusOf(hostless)} "${hostless.split('\r\n\r\n')[1]?.trim() ?? ''}"`);

  const flood = Number(values.flood);
  const ingressStats = `http://${INGRESS}:15090/stats/prometheus`;
  const listener = '{listener="0.0.0.0_8080"}';
  const mb = (n: number) => `${Math.round(n / 1048576)} MB`;
  const rssBefore = await metric(ingressStats, 'process_resident_memory_bytes');
  const sockets: Socket[] = [];
  let failed = 0;
  for (let i = 0; i < flood; i++) {
    const s = connect({ host: INGRESS, port: 8080 });
    s.on('error', () => failed++);
    s.resume();
    sockets.push(s);
    if (i % 500 === 499) await new Promise((r) => setTimeout(r, 20));
  }
  // Held until the header timeout (10 s) reaps them; meanwhile admin must answer. A busy machine accepts
  // slowly (the kernel's queue fills and clients retry), so follow the count until it stops growing.
  let held = 0;
  let overflow = 0;
  let rssDuring = 0;
  let ready = { value: 0, ms: 0 };
  for (let i = 0; i < 16; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await metric(ingressStats, `strait_downstream_cx_active${listener}`);
    overflow = (await metric(ingressStats, `strait_downstream_cx_overflow_total${listener}`)) || 0;
    if (now >= held) {
      held = now;
      rssDuring = await metric(ingressStats, 'process_resident_memory_bytes');
      ready = await timed(async () => (await request(`http://${INGRESS}:15021/healthz/ready`)).statusCode);
    }
  }
  await new Promise((r) => setTimeout(r, 10_000));
  const reaped = await metric(ingressStats, `strait_downstream_cx_active${listener}`);
  for (const s of sockets) s.destroy();
  const served = await request(`http://${INGRESS}:8080/`);
  await served.body.text();
  await new Promise((r) => setTimeout(r, 10_000));
  const rssAfter = await metric(ingressStats, 'process_resident_memory_bytes');
  say(
    `${flood} idle connections to the ingress`,
    `at most ${held} held at once, ${overflow} answered 503 overload, ${failed} failed on the client; /healthz/ready ${ready.value} in ${ready.ms} ms; 10 s later ${reaped} left; next request ${served.statusCode}; RSS ${mb(rssBefore)} → ${mb(rssDuring)} → ${mb(rssAfter)} 10 s later`,
  );
}

async function controlPlane(): Promise<void> {
  const put = async (body: string | Buffer) => {
    const res = await request(`${CP}/v1/resources`, { method: 'PUT', body }).catch((err: Error) => err);
    if (res instanceof Error) return { status: 0, text: res.message };
    return { status: res.statusCode, text: await res.body.text() };
  };
  for (const size of [900_000, 1_900_000]) {
    const bomb = '['.repeat(size);
    const { value, ms } = await timed(() => Promise.all([put(bomb), put(bomb), put(bomb)]));
    const ready = await timed(async () => (await request(`${CP}/ready`)).statusCode);
    say(
      `3 × ${size} B of "[" at once`,
      `${value.map((v) => v.status).join(' ')} in ${ms} ms (${/STRAIT_[A-Z_]+/.exec(value[0]?.text ?? '')?.[0]}); /ready ${ready.value} in ${ready.ms} ms`,
    );
  }
  const big = await put(Buffer.alloc(5 * 1024 * 1024, 'a'));
  say(
    '5 MB body',
    `${big.status} ${/over the limit of \d+ bytes/.exec(big.text)?.[0] ?? big.text.slice(0, 80)}`,
  );
  const entry = (name: string) =>
    `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: ${name} }\nspec:\n  hosts: [probe.example.com]\n  location: MESH_EXTERNAL\n  ports: [{ number: 443, name: https, protocol: TLS }]\n  resolution: DNS\n`;
  const long = await put(entry(`p${'x'.repeat(238)}p`));
  say('a 240-character name', `${long.status}`);
  const huge = await put(entry(`p${'x'.repeat(1_000_000)}`));
  say('a 1 MB name', `${huge.status}, answer ${huge.text.length} bytes`);
  process.stdout.write('  (50 slow-body PUTs: waiting for the 30 s request timeout)\n');
  const slow: Promise<number>[] = [];
  for (let i = 0; i < 50; i++)
    slow.push(
      new Promise((resolve) => {
        const started = performance.now();
        const s = connect({ host: '127.0.0.1', port: 15010 });
        s.on('error', () => {});
        s.resume(); // a reading socket keeps this process alive while it waits
        s.on('close', () => resolve(performance.now() - started));
        s.write('PUT /v1/resources HTTP/1.1\r\nHost: cp\r\nContent-Length: 1000\r\n\r\nkind:');
      }),
    );
  const closedAfter = await Promise.all(slow);
  say(
    '50 slow-body PUTs',
    `all closed after ${Math.round(Math.min(...closedAfter) / 1000)}–${Math.round(Math.max(...closedAfter) / 1000)} s`,
  );
  await request(`${CP}/v1/resources/VirtualService/probe-admin-block`, { method: 'DELETE' }).then((r) =>
    r.body.text(),
  );
  await apply(readFileSync(new URL('../packages/demo/mesh/mesh.yaml', import.meta.url), 'utf8'));
  await request(`${CP}/v1/resources/ServiceEntry/p${'x'.repeat(238)}p`, { method: 'DELETE' }).then((r) =>
    r.body.text(),
  );
}

await dataPlane();
await controlPlane();
process.stdout.write(
  `\n| probe | answer now |\n|---|---|\n${rows.map(([p, a]) => `| ${p} | ${a} |`).join('\n')}\n`,
);
