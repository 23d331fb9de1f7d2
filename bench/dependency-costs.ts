// What each library Strait leans on costs on Strait's own work, for docs/architecture.md: zod validating a
// sidecar's snapshot (and ajv's compiled form of the same schema, which the proxy runs) and the demo's resources, yaml parsing the demo's configuration, pino writing
// access-log lines, prom-client rendering a busy proxy's metrics. One process, timed in a loop after a
// warm-up; prints a Markdown table.   node bench/dependency-costs.ts
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSnapshot, snapshotShapeIssues } from '@strait/api';
import { loadTexts } from '@strait/api/resources';
import pino from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..');
const snapshotJson = JSON.parse(
  readFileSync(join(root, 'packages/control-plane/src/translate/__golden__/service-a-v1-1.json'), 'utf8'),
) as unknown;
const meshDir = join(root, 'packages/demo/mesh');
const meshFiles = new Map(
  readdirSync(meshDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => [f, readFileSync(join(meshDir, f), 'utf8')]),
);
const meshBytes = [...meshFiles.values()].reduce((sum, text) => sum + text.length, 0);

/** Microseconds per call: `fn` run for about `ms` after a warm-up of the same length (yaml's parser needs
 * a few hundred runs before it is optimised, so the slow operations get longer). */
function time(fn: () => void, ms = 1500): number {
  const until = (end: number) => {
    let n = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 20; i++) fn();
      n += 20;
    }
    return n;
  };
  until(performance.now() + ms);
  const start = performance.now();
  const n = until(start + ms);
  return ((performance.now() - start) * 1000) / n;
}

const rows: [string, string, number, string][] = [];

rows.push([
  'zod',
  `a sidecar's whole snapshot checked (parseSnapshot, ${JSON.stringify(snapshotJson).length} bytes of JSON)`,
  time(() => parseSnapshot(snapshotJson)),
  'µs',
]);
rows.push([
  'ajv (compiled)',
  'the same snapshot checked by the ajv-compiled form of the schema (snapshotShapeIssues: what a proxy runs)',
  time(() => snapshotShapeIssues(snapshotJson)),
  'µs',
]);
rows.push([
  'yaml',
  `the demo mesh's ${meshFiles.size} files parsed, file by file (${meshBytes} bytes, multi-document)`,
  time(() => {
    for (const text of meshFiles.values()) for (const doc of parseAllDocuments(text)) doc.toJS();
  }, 4000),
  'µs',
]);
rows.push([
  'yaml + zod',
  "the demo mesh's files parsed and validated (loadTexts: what `straitctl analyze` and the control plane do)",
  time(() => loadTexts(meshFiles), 4000),
  'µs',
]);

const devNull = pino.destination({ dest: '/dev/null', sync: true });
const log = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, devNull);
const line = {
  start_time: '2026-11-29T12:00:00.000Z',
  method: 'GET',
  path: '/api/items?id=1',
  protocol: 'HTTP/1.1',
  response_code: 200,
  response_flags: '-',
  bytes_received: 0,
  bytes_sent: 1024,
  duration: 1,
  upstream_host: '127.0.2.1:15006',
  upstream_cluster: 'outbound|80|v1|service-b',
  x_request_id: '9b2f3c1e-8d7a-4b6e-9f10-1a2b3c4d5e6f',
  authority: 'service-b',
};
rows.push(['pino', 'one access-log line (13 fields) written', time(() => log.info(line)), 'µs']);

const registry = new Registry();
const labels = ['reporter', 'source_workload', 'destination_service', 'response_code', 'response_flags'];
const requests = new Counter({
  name: 'istio_requests_total',
  help: 'requests',
  labelNames: labels,
  registers: [registry],
});
const duration = new Histogram({
  name: 'istio_request_duration_milliseconds',
  help: 'duration',
  labelNames: labels,
  buckets: [
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
    3600000,
  ],
  registers: [registry],
});
let series = 0;
for (const source of ['ingress', 'service-a-v1', 'service-b-v1', 'service-b-v2', 'unknown'])
  for (const service of ['service-a', 'service-b', 'external-api', 'other'])
    for (const code of ['200', '404', '503'])
      for (const flags of ['-', 'UH']) {
        const l = {
          reporter: 'source',
          source_workload: source,
          destination_service: service,
          response_code: code,
          response_flags: flags,
        };
        requests.inc(l);
        duration.observe(l, 3);
        series++;
      }
rows.push([
  'prom-client',
  'one counter observation (istio_requests_total, 5 labels)',
  time(() =>
    requests.inc({
      reporter: 'source',
      source_workload: 'ingress',
      destination_service: 'service-a',
      response_code: '200',
      response_flags: '-',
    }),
  ),
  'µs',
]);
let rendered = 0;
for (let i = 0; i < 50; i++) rendered = (await registry.metrics()).length; // warm-up
const scrapes = 300;
const scrapeStart = performance.now();
for (let i = 0; i < scrapes; i++) await registry.metrics();
rows.push([
  'prom-client',
  `a scrape rendered: ${series} request series, each a counter and a 19-bucket histogram`,
  ((performance.now() - scrapeStart) * 1000) / scrapes,
  'µs',
]);

console.log(`| library | work | µs per call |\n|---|---|---:|`);
for (const [lib, what, us] of rows)
  console.log(`| ${lib} | ${what} | ${us < 10 ? us.toFixed(2) : us.toFixed(0)} |`);
console.log(`\n(scrape text: ${rendered} bytes; Node ${process.version})`);
