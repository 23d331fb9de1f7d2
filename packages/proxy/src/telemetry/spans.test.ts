// A traced request's spans: Envoy's tags, parent links, kinds, error status and times in OTLP form.
import { OtlpSpanKind, OtlpStatusCode } from '@strait/api';
import { describe, expect, it } from 'vitest';
import type { NodeIdentity, StreamRecord } from '../listener/context.ts';
import { RequestTrace } from '../tracing/request-trace.ts';
import { epochMs } from './epoch-clock.ts';
import { spansOf, tracingServiceName, unixNano } from './spans.ts';

const node: NodeIdentity = {
  id: 'service-a-v1-1',
  role: 'sidecar',
  workload: 'service-a-v1',
  namespace: 'default',
  app: 'service-a',
  version: 'v1',
  peerHeader: '',
  via: '',
};

function record(trace: RequestTrace, over: Partial<StreamRecord> = {}): StreamRecord {
  return {
    startTime: Date.now(),
    durationMs: 10,
    method: 'GET',
    path: '/x?y=1',
    authority: 'service-b',
    requestId: 'rid-1',
    userAgent: 'curl',
    remoteAddress: '127.0.0.9',
    requestBytes: 0,
    responseBytes: 5,
    status: 200,
    flag: '-',
    routeName: 'r',
    clusterName: 'outbound|8080||service-b.default.svc.cluster.local',
    cluster: undefined,
    host: undefined,
    peerKey: '',
    tunnel: false,
    trace,
    ...over,
  } as StreamRecord;
}

const attrs = (span: { attributes?: { key: string; value: { stringValue?: string } }[] }) =>
  Object.fromEntries((span.attributes ?? []).map((a) => [a.key, a.value.stringValue]));

describe('spansOf', () => {
  it('gives a server span and a client span per attempt, linked, with Envoy and Istio tags', () => {
    const trace = new RequestTrace(
      {
        format: 'w3c',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        parentSpanId: '00f067aa0ba902b7',
        sampled: true,
      },
      performance.now(),
    );
    const first = trace.beginAttempt([], '127.0.2.1:15006');
    first.status = 503;
    first.end = first.start + 2;
    const second = trace.beginAttempt([], '127.0.2.2:15006');
    second.status = 200;
    second.end = second.start + 3;
    const [server, a, b, ...rest] = spansOf(record(trace), trace, node);
    expect(rest).toEqual([]);
    expect(server?.kind).toBe(OtlpSpanKind.server);
    expect(server?.parentSpanId).toBe('00f067aa0ba902b7');
    expect(server?.name).toBe('service-b/*');
    expect(attrs(server ?? {})).toMatchObject({
      node_id: 'service-a-v1-1',
      'guid:x-request-id': 'rid-1',
      'http.method': 'GET',
      'http.url': 'http://service-b/x?y=1',
      'http.status_code': '200',
      upstream_cluster: 'outbound|8080||service-b.default.svc.cluster.local',
      response_flags: '-',
      'peer.address': '127.0.0.9',
      'istio.canonical_service': 'service-a',
      component: 'proxy',
    });
    expect(server?.status?.code).toBe(OtlpStatusCode.unset);
    for (const client of [a, b]) {
      expect(client?.kind).toBe(OtlpSpanKind.client);
      expect(client?.parentSpanId).toBe(trace.spanId);
      expect(client?.name).toBe('router outbound|8080||service-b.default.svc.cluster.local egress');
    }
    expect(a?.status?.code).toBe(OtlpStatusCode.error);
    expect(attrs(a ?? {}).error).toBe('true');
    expect(b?.status?.code).toBe(OtlpStatusCode.unset);
    expect(attrs(b ?? {}).upstream_address).toBe('127.0.2.2:15006');
    // Children lie within their parent.
    for (const client of [a, b]) {
      expect(BigInt(client?.startTimeUnixNano ?? 0)).toBeGreaterThanOrEqual(
        BigInt(server?.startTimeUnixNano ?? 0),
      );
      expect(BigInt(client?.endTimeUnixNano ?? 0)).toBeLessThanOrEqual(BigInt(server?.endTimeUnixNano ?? 0));
    }
  });

  it('marks 5xx and local failures as errors, and has no parent at the root', () => {
    const trace = new RequestTrace(undefined, performance.now());
    const [noRoute] = spansOf(record(trace, { status: 404, flag: 'NR' }), trace, node);
    expect(noRoute?.parentSpanId).toBeUndefined();
    expect(noRoute?.status).toEqual({ code: OtlpStatusCode.error, message: 'NR' });
    const [fiveHundred] = spansOf(record(trace, { status: 500 }), trace, node);
    expect(fiveHundred?.status?.code).toBe(OtlpStatusCode.error);
    const [fine] = spansOf(record(trace, { status: 404 }), trace, node);
    expect(fine?.status?.code).toBe(OtlpStatusCode.unset);
  });
});

describe('unixNano and the service name', () => {
  it('writes epoch nanoseconds as a decimal string', () => {
    const now = performance.now();
    const nanos = BigInt(unixNano(now));
    const expected = BigInt(Math.round(epochMs(now) * 1000)) * 1000n;
    expect(nanos - expected < 1000n && expected - nanos < 1000n).toBe(true);
    expect(unixNano(now)).toMatch(/^\d{19}$/);
  });

  it("is Istio's canonical service and namespace", () => {
    expect(tracingServiceName(node)).toBe('service-a.default');
  });
});
