// Cross-process tracing through one real proxy: a request without context starts a trace, a retried attempt
// shows as two client spans, W3C and B3 (single and multi) context is continued, the caller's sampling
// decision stands (an unsampled request passes untouched), 0 % gives no spans, and a dead collector costs no
// request while the drop counter rises. Spans arrive as OTLP/HTTP JSON at a collector the test runs.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HEALTH_CHECK_USER_AGENT, type OtlpExportRequest, type OtlpSpan } from '@strait/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyUnderTest, startAll, startProxy, waitFor } from './support/processes.ts';
import { cluster, listener, route, snapshot } from './support/snapshots.ts';

const NET = '127.0.193';
const COLLECTOR = `${NET}.1`;
const UPSTREAM = `${NET}.2`;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

interface ReceivedSpan extends OtlpSpan {
  service: string;
  attrs: Record<string, string>;
}

const received: ReceivedSpan[] = [];
/** What the upstream saw, by x-request-id. */
const seen = new Map<string, IncomingHttpHeaders[]>();
const failedOnce = new Set<string>();
let collector: Server;
let upstream: Server;
const proxies: ProxyUnderTest[] = [];
let traced: ProxyUnderTest;
let unsampled: ProxyUnderTest;
let deadCollector: ProxyUnderTest;

async function listen(server: Server, address: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return (server.address() as AddressInfo).port;
}

function startTracedProxy(
  address: string,
  samplingPercentage: number,
  collectorPort: number,
  upstreamPort: number,
) {
  return startProxy({
    role: 'ingress',
    address,
    snapshot: snapshot(
      [
        listener('gateway', 8080, [
          route('all', 'up', {
            route: { clusters: [{ cluster: 'up', weight: 100 }], retry: { attempts: 2, retryOn: ['5xx'] } },
          }),
        ]),
      ],
      [cluster('up', [{ address: UPSTREAM, port: upstreamPort }])],
      {
        telemetry: {
          accessLog: false,
          tracing: {
            provider: 'test',
            samplingPercentage,
            collector: { host: COLLECTOR, port: collectorPort },
          },
        },
      },
    ),
  });
}

beforeAll(async () => {
  collector = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      text += d;
    });
    req.on('end', () => {
      const body = JSON.parse(text) as OtlpExportRequest;
      for (const rs of body.resourceSpans) {
        const service =
          rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const scope of rs.scopeSpans ?? [])
          for (const span of scope.spans ?? []) {
            const attrs = Object.fromEntries(
              (span.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? '']),
            );
            received.push({ ...span, service, attrs });
          }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  upstream = createServer((req, res) => {
    req.resume();
    const rid = String(req.headers['x-request-id']);
    seen.set(rid, [...(seen.get(rid) ?? []), req.headers]);
    const failKey = req.headers['x-fail-once'];
    if (typeof failKey === 'string' && !failedOnce.has(failKey)) {
      failedOnce.add(failKey);
      res.writeHead(503).end('try again');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  const collectorPort = await listen(collector, COLLECTOR);
  const upstreamPort = await listen(upstream, UPSTREAM);
  // A port where no collector listens: a server bound and closed again.
  const gone = createServer();
  const deadPort = await listen(gone, COLLECTOR);
  await new Promise<void>((resolve) => gone.close(() => resolve()));
  [traced, unsampled, deadCollector] = await startAll([
    startTracedProxy(`${NET}.10`, 100, collectorPort, upstreamPort),
    startTracedProxy(`${NET}.11`, 0, collectorPort, upstreamPort),
    startTracedProxy(`${NET}.12`, 100, deadPort, upstreamPort),
  ]);
  proxies.push(traced, unsampled, deadCollector);
}, 60_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  collector?.close();
  upstream?.close();
});

async function send(proxy: ProxyUnderTest, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`http://${proxy.address}:8080/`, { headers });
  await res.text();
  return res.status;
}

function spansOf(requestId: string): ReceivedSpan[] {
  return received.filter((s) => s.attrs['guid:x-request-id'] === requestId);
}

/** Waits until the collector has `count` spans for a request id (the exporter sends about once a second). */
function spansFor(requestId: string, count: number): Promise<ReceivedSpan[]> {
  return waitFor(`${count} spans for ${requestId}`, () => {
    const spans = spansOf(requestId);
    return spans.length >= count ? spans : undefined;
  });
}

describe('tracing through a proxy', () => {
  it('starts a trace for a request without one: a server span and a client span, linked', async () => {
    expect(await send(traced, { 'x-request-id': 'fresh-1' })).toBe(200);
    const spans = await spansFor('fresh-1', 2);
    const server = spans.find((s) => s.kind === 2);
    const client = spans.find((s) => s.kind === 3);
    expect(server?.parentSpanId).toBeUndefined();
    expect(client?.parentSpanId).toBe(server?.spanId);
    expect(client?.traceId).toBe(server?.traceId);
    expect(server?.attrs).toMatchObject({
      'http.method': 'GET',
      'http.status_code': '200',
      component: 'proxy',
      upstream_cluster: 'up',
    });
    expect(client?.name).toBe('router up egress');
    // The upstream got the client span as its parent.
    expect(seen.get('fresh-1')?.[0]?.traceparent).toBe(`00-${server?.traceId}-${client?.spanId}-01`);
  });

  it('shows a retried attempt as two client spans, the failed one an error', async () => {
    const traceparent = `00-${TRACE}-${SPAN}-01`;
    expect(await send(traced, { 'x-request-id': 'retry-1', 'x-fail-once': 'retry-1', traceparent })).toBe(
      200,
    );
    const spans = await spansFor('retry-1', 3);
    const server = spans.find((s) => s.kind === 2);
    const clients = spans
      .filter((s) => s.kind === 3)
      .sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)));
    expect(server?.traceId).toBe(TRACE);
    expect(server?.parentSpanId).toBe(SPAN);
    expect(clients.map((c) => c.attrs['http.status_code'])).toEqual(['503', '200']);
    expect(clients.map((c) => c.status?.code)).toEqual([2, 0]);
    for (const c of clients) {
      expect(c.parentSpanId).toBe(server?.spanId);
      expect(BigInt(c.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(server?.startTimeUnixNano ?? 0));
      expect(BigInt(c.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(server?.endTimeUnixNano ?? 0));
    }
    // Each attempt carried its own span id upstream.
    expect(seen.get('retry-1')?.map((h) => h.traceparent)).toEqual(
      clients.map((c) => `00-${TRACE}-${c.spanId}-01`),
    );
  });

  it('continues a trace given only B3, single or multi, and answers in the same form', async () => {
    expect(await send(traced, { 'x-request-id': 'b3-single', b3: `${TRACE}-${SPAN}-1` })).toBe(200);
    const [server] = (await spansFor('b3-single', 2)).filter((s) => s.kind === 2);
    expect(server?.traceId).toBe(TRACE);
    expect(server?.parentSpanId).toBe(SPAN);
    const headers = seen.get('b3-single')?.[0];
    expect(headers?.b3).toMatch(new RegExp(`^${TRACE}-[0-9a-f]{16}-1-${server?.spanId}$`));
    expect(headers?.traceparent).toMatch(new RegExp(`^00-${TRACE}-`));

    const multi = { 'x-b3-traceid': TRACE.slice(16), 'x-b3-spanid': SPAN, 'x-b3-sampled': '1' };
    expect(await send(traced, { 'x-request-id': 'b3-multi', ...multi })).toBe(200);
    const [multiServer] = (await spansFor('b3-multi', 2)).filter((s) => s.kind === 2);
    // A 64-bit B3 trace id is continued as the same id, padded to 128 bits.
    expect(multiServer?.traceId).toBe(`0000000000000000${TRACE.slice(16)}`);
    expect(seen.get('b3-multi')?.[0]?.['x-b3-parentspanid']).toBe(multiServer?.spanId);
  });

  it("honours the caller's decision: unsampled passes untouched, sampled is traced even at 0 %", async () => {
    const notSampled = `00-${TRACE}-${SPAN}-00`;
    expect(await send(traced, { 'x-request-id': 'unsampled-1', traceparent: notSampled })).toBe(200);
    expect(seen.get('unsampled-1')?.[0]?.traceparent).toBe(notSampled);
    expect(await send(unsampled, { 'x-request-id': 'forced-1', traceparent: `00-${TRACE}-${SPAN}-01` })).toBe(
      200,
    );
    await spansFor('forced-1', 2);
    expect(spansOf('unsampled-1')).toEqual([]);
  });

  it('starts no trace for a health check, as Envoy does not', async () => {
    expect(await send(traced, { 'x-request-id': 'hc-1', 'user-agent': HEALTH_CHECK_USER_AGENT })).toBe(200);
    expect(seen.get('hc-1')?.[0]?.traceparent).toBeUndefined();
  });

  it('gives no spans at 0 %, and adds no trace headers', async () => {
    for (let i = 0; i < 20; i++) expect(await send(unsampled, { 'x-request-id': `zero-${i}` })).toBe(200);
    // A request sampled after these, through the same collector, arrives: the zero ones would have by then.
    expect(await send(traced, { 'x-request-id': 'marker-1' })).toBe(200);
    await spansFor('marker-1', 2);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(spansOf('hc-1')).toEqual([]);
    for (let i = 0; i < 20; i++) {
      expect(spansOf(`zero-${i}`)).toEqual([]);
      expect(seen.get(`zero-${i}`)?.[0]?.traceparent).toBeUndefined();
    }
  });

  it('costs no request when the collector is dead; the drop counter rises', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => send(deadCollector, { 'x-request-id': `dead-${i}` })),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const dropped = await waitFor('dropped spans counted', async () => {
      const text = await (await fetch(`http://${deadCollector.address}:15090/stats/prometheus`)).text();
      const total = text
        .split('\n')
        .filter((l) => l.startsWith('strait_tracing_spans_dropped_total{'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      return total >= 100 ? total : undefined;
    });
    expect(dropped).toBeGreaterThanOrEqual(100);
  });
});
