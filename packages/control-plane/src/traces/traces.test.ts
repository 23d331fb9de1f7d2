// The trace store and OTLP decoding: spans grouped by trace, queries by service and duration, hard bounds
// on what is held, and malformed exports refused with the path of the problem.
import { describe, expect, it } from 'vitest';
import { type DecodedSpan, decodeExport } from './otlp.ts';
import { TraceStore } from './store.ts';

const T1 = '4bf92f3577b34da6a3ce929d0e0e4736';
const T2 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

function span(
  traceId: string,
  spanId: string,
  parent: string,
  service: string,
  startMs: number,
  durationMs: number,
): DecodedSpan {
  return {
    traceId,
    spanId,
    parentSpanId: parent,
    name: `${service} span`,
    kind: 'server',
    service,
    startMs,
    durationMs,
    error: false,
    attributes: {},
  };
}

describe('decodeExport', () => {
  it('reads OTLP JSON: ids, kinds, nanosecond times, attributes, error status and service.name', () => {
    const spans = decodeExport({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'service-a.default' } }] },
          scopeSpans: [
            {
              scope: { name: 'x' },
              spans: [
                {
                  traceId: T1.toUpperCase(),
                  spanId: '00f067aa0ba902b7',
                  parentSpanId: '',
                  name: 'ingress',
                  kind: 2,
                  startTimeUnixNano: '1764430000123456789',
                  endTimeUnixNano: '1764430000125456789',
                  attributes: [
                    { key: 'http.status_code', value: { stringValue: '503' } },
                    { key: 'retries', value: { intValue: '2' } },
                  ],
                  status: { code: 2 },
                  unknownField: true,
                },
              ],
            },
          ],
        },
      ],
    });
    expect(spans).toHaveLength(1);
    const s = spans[0] as DecodedSpan;
    expect(s.traceId).toBe(T1);
    expect(s.kind).toBe('server');
    expect(s.service).toBe('service-a.default');
    expect(s.startMs).toBeCloseTo(1764430000123.457, 3);
    expect(s.durationMs).toBeCloseTo(2, 6);
    expect(s.error).toBe(true);
    expect(s.attributes).toEqual({ 'http.status_code': '503', retries: '2' });
  });

  it('refuses what is not an export request, naming where', () => {
    expect(() => decodeExport({ resourceSpans: 'x' })).toThrow(/resourceSpans: /);
    expect(() =>
      decodeExport({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  { traceId: 'zz', spanId: '1', name: 'n', startTimeUnixNano: '1', endTimeUnixNano: '2' },
                ],
              },
            ],
          },
        ],
      }),
    ).toThrow(/resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId: expected 32 hex digits/);
  });
});

describe('TraceStore', () => {
  it('groups spans by trace and lists the newest first, filtered by service and duration', () => {
    const store = new TraceStore();
    store.add([span(T1, '0000000000000001', '', 'istio-ingressgateway.istio-system', 1000, 50)]);
    store.add([span(T1, '0000000000000002', '0000000000000001', 'service-a.default', 1010, 30)]);
    store.add([span(T2, '0000000000000003', '', 'service-b.default', 2000, 5)]);
    expect(store.list().map((t) => t.traceId)).toEqual([T2, T1]);
    const [, first] = store.list();
    expect(first).toEqual({
      traceId: T1,
      rootService: 'istio-ingressgateway.istio-system',
      rootName: 'istio-ingressgateway.istio-system span',
      startMs: 1000,
      durationMs: 50,
      spanCount: 2,
      services: ['istio-ingressgateway.istio-system', 'service-a.default'],
      error: false,
    });
    expect(store.list({ service: 'service-a' }).map((t) => t.traceId)).toEqual([T1]);
    expect(store.list({ service: 'service-a.default' }).map((t) => t.traceId)).toEqual([T1]);
    expect(store.list({ minDurationMs: 10 }).map((t) => t.traceId)).toEqual([T1]);
    expect(store.list({ limit: 1 })).toHaveLength(1);
    expect(store.get(T1)?.spans.map((s) => s.spanId)).toEqual(['0000000000000001', '0000000000000002']);
    expect(store.get('ffffffffffffffffffffffffffffffff')).toBeUndefined();
  });

  it('holds at most maxTraces (evicting the oldest) and maxSpansPerTrace, and refuses repeated span ids', () => {
    const store = new TraceStore({ maxTraces: 2, maxSpansPerTrace: 2 });
    for (let i = 0; i < 3; i++) store.add([span(String(i).repeat(32), '0000000000000001', '', 's', i, 1)]);
    expect(store.size).toBe(2);
    expect(store.get('0'.repeat(32))).toBeUndefined();
    const rejected = store.add([
      span('2'.repeat(32), '0000000000000001', '', 's', 0, 1),
      span('2'.repeat(32), '0000000000000002', '', 's', 0, 1),
      span('2'.repeat(32), '0000000000000003', '', 's', 0, 1),
    ]);
    expect(rejected).toBe(2);
    expect(store.get('2'.repeat(32))?.spans).toHaveLength(2);
  });
});
