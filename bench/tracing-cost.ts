// `node bench/tracing-cost.ts`: the tracing work one request adds, measured in isolation (CPU time per
// request of the real functions on a typical request's headers): the decision for an unsampled request,
// and for a sampled one its ids, context headers, spans and their share of the OTLP JSON export. Next to the
// hop's total CPU per request (the bench's "CPU s / 1000 req"), this gives tracing's share of a request's
// CPU without the noise a busy machine puts into whole-proxy runs.
import { randomUUID } from 'node:crypto';
import { encodePeer, peerOfNode } from '@strait/api';
import { HeaderList } from '../packages/proxy/src/codec/headers.ts';
import type { NodeIdentity, StreamRecord } from '../packages/proxy/src/listener/context.ts';
import { spansOf } from '../packages/proxy/src/telemetry/spans.ts';
import { traceRequest } from '../packages/proxy/src/tracing/request-trace.ts';

const N = 200_000;
// The identity a sidecar of service-a v1 has, made the way the proxy makes it.
const peer = peerOfNode({ workload: 'service-a-v1', service: 'service-a', version: 'v1' });
const node: NodeIdentity = {
  id: 'service-a-v1-1',
  role: 'sidecar',
  ...peer,
  peerHeader: encodePeer(peer),
  via: '1.1 service-a-v1-1 (strait-sidecar)',
};
const ids = Array.from({ length: 1024 }, () => randomUUID());
const raw = [
  'host',
  'service-b',
  'user-agent',
  'node',
  'accept',
  '*/*',
  'accept-encoding',
  'gzip, deflate',
  'x-forwarded-for',
  '127.0.1.1',
  'x-forwarded-proto',
  'http',
  'via',
  '1.1 service-a-v1-1 (strait-sidecar)',
  'x-strait-peer',
  'workload=service-a-v1;namespace=default',
];

function cpuMicros(run: () => void): number {
  for (let i = 0; i < N / 10; i++) run(); // warm up (JIT)
  const start = process.cpuUsage();
  for (let i = 0; i < N; i++) run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / N;
}

let i = 0;
const headers = new HeaderList(raw);
const unsampled = cpuMicros(() => {
  traceRequest(headers, ids[i++ & 1023] as string, { samplingPercent: 0 }, 0);
});
const batch: unknown[] = [];
const sampled = cpuMicros(() => {
  const trace = traceRequest(headers, ids[i++ & 1023] as string, { samplingPercent: 100 }, performance.now());
  if (!trace) throw new Error('expected a trace');
  const attempt = trace.beginAttempt([...raw], '127.0.2.1:15006');
  attempt.status = 200;
  attempt.end = performance.now();
  const record = {
    durationMs: 1,
    method: 'GET',
    path: '/',
    authority: 'service-b',
    requestId: ids[i & 1023],
    userAgent: 'node',
    remoteAddress: '127.0.1.1',
    requestBytes: 0,
    responseBytes: 1024,
    status: 200,
    flag: '-',
    routeName: 'default',
    clusterName: 'outbound|80||service-b',
    trace,
  } as unknown as StreamRecord;
  batch.push(...spansOf(record, trace, node));
  // The export serializes spans 512 at a time; each request pays its share.
  if (batch.length >= 512) {
    JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: batch }] }] });
    batch.length = 0;
  }
});
const at = (percent: number) => unsampled * (1 - percent / 100) + sampled * (percent / 100);
process.stdout.write(
  `tracing CPU per request (µs): unsampled ${unsampled.toFixed(3)}, sampled ${sampled.toFixed(2)}; ` +
    `at 1 %: ${at(1).toFixed(3)}, at 100 %: ${at(100).toFixed(2)}\n`,
);
