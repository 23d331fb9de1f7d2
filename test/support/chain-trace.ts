// The demo chain's trace, checked: one request through ingress → service-a → service-b → egress gives one
// trace in the control plane's store with a server and a client span from every proxy it crossed (the
// sidecars twice: inbound and outbound), one tree, every child within its parent's time; straitctl draws it.
import { ApiPaths, type TraceDetail, type TraceList, type TraceSpan, tracePath } from '@strait/api';
import { expect } from 'vitest';
import { run } from '../../packages/cli/src/program.ts';
import { waitFor } from './processes.ts';

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** The trace whose spans carry this x-request-id, once every proxy has exported its part. */
export async function traceOf(
  controlPlaneUrl: string,
  requestId: string,
  spans: number,
): Promise<TraceDetail> {
  return waitFor(
    `the trace of ${requestId} with ${spans} spans`,
    async () => {
      const { traces } = await getJson<TraceList>(`${controlPlaneUrl}${ApiPaths.traces}?limit=10`);
      for (const t of traces) {
        const detail = await getJson<TraceDetail>(`${controlPlaneUrl}${tracePath(t.traceId)}`);
        const mine = detail.spans.some((s) => s.attributes['guid:x-request-id'] === requestId);
        if (mine && detail.spans.length >= spans) return detail;
      }
      return undefined;
    },
    20_000,
    200,
  );
}

const count = (spans: TraceSpan[], service: string, kind: string) =>
  spans.filter((s) => s.service.split('.')[0] === service && s.kind === kind).length;

export async function expectChainTrace(controlPlaneUrl: string, ingressUrl: string): Promise<void> {
  const requestId = `chain-trace-${Date.now()}`;
  const res = await fetch(ingressUrl, { headers: { 'x-request-id': requestId } });
  expect(res.status).toBe(200);
  await res.text();
  const trace = await traceOf(controlPlaneUrl, requestId, 12);
  const spans = trace.spans;
  expect(spans.every((s) => s.attributes['guid:x-request-id'] === requestId)).toBe(true);
  // Ingress and egress once; each sidecar twice (inbound, then outbound for the app's own call).
  const shape = Object.fromEntries(
    ['istio-ingressgateway', 'service-a', 'service-b', 'istio-egressgateway'].map((svc) => [
      svc,
      [count(spans, svc, 'server'), count(spans, svc, 'client')],
    ]),
  );
  expect(shape).toEqual({
    'istio-ingressgateway': [1, 1],
    'service-a': [2, 2],
    'service-b': [2, 2],
    'istio-egressgateway': [1, 1],
  });
  expect(spans).toHaveLength(12);
  // One tree: one root (the ingress's server span), every other span's parent in the trace.
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const roots = spans.filter((s) => s.parentSpanId === '');
  expect(roots.map((r) => [r.service.split('.')[0], r.kind])).toEqual([['istio-ingressgateway', 'server']]);
  for (const span of spans) {
    if (span.parentSpanId === '') continue;
    const parent = byId.get(span.parentSpanId);
    expect(parent, `parent of ${span.service} ${span.name}`).toBeDefined();
    // A client span's child is the next hop's server span; a server span's children are its own attempts.
    expect(parent?.kind).toBe(span.kind === 'server' ? 'client' : 'server');
    const p = parent as TraceSpan;
    expect(span.startMs, `${span.service} ${span.name} starts within its parent`).toBeGreaterThanOrEqual(
      p.startMs,
    );
    expect(
      span.startMs + span.durationMs,
      `${span.service} ${span.name} ends within its parent`,
    ).toBeLessThanOrEqual(p.startMs + p.durationMs);
  }
  // The sidecars' inbound and outbound sides are both there.
  const clusters = spans.filter((s) => s.kind === 'server').map((s) => s.attributes.upstream_cluster ?? '');
  expect(clusters.filter((c) => c.startsWith('inbound|'))).toHaveLength(2);

  let out = '';
  const io = {
    out: (text: string) => {
      out += text;
    },
    err: (text: string) => {
      out += text;
    },
    stdin: async () => '',
  };
  expect(await run(['--server', controlPlaneUrl, 'traces', '--id', trace.traceId], io)).toBe(0);
  expect(out).toContain(`trace ${trace.traceId}: 12 spans over 4 services`);
  for (const svc of ['istio-ingressgateway', 'service-a', 'service-b', 'istio-egressgateway'])
    expect(out).toContain(svc);
}
