// The span exporter against a real HTTP collector on loopback: batches arrive as OTLP JSON; a dead, failing
// or full collector costs dropped (and counted) spans, never an exception or an unbounded queue.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type OtlpExportRequest, type OtlpSpan, ProxyMetrics } from '@strait/api';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { SpanExporter } from './span-exporter.ts';

const logger = pino({ level: 'silent' });

function span(i: number): OtlpSpan {
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: i.toString(16).padStart(16, '0'),
    name: `s${i}`,
    kind: 2,
    startTimeUnixNano: '1',
    endTimeUnixNano: '2',
  };
}

async function collector(
  answer: (body: OtlpExportRequest) => number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      text += d;
    });
    req.on('end', () => {
      res.statusCode = answer(JSON.parse(text) as OtlpExportRequest);
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function counter(registry: Registry, name: string, reason?: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => reason === undefined || v.labels.reason === reason)
    .reduce((sum, v) => sum + v.value, 0);
}

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers) await close();
  closers = [];
});

function exporter(registry: Registry, extra: Partial<ConstructorParameters<typeof SpanExporter>[0]> = {}) {
  const e = new SpanExporter({
    registry,
    logger,
    resource: [{ key: 'service.name', value: { stringValue: 'svc.default' } }],
    ...extra,
  });
  closers.push(() => e.close());
  return e;
}

describe('SpanExporter', () => {
  it('sends batches as OTLP JSON with the resource, and counts them', async () => {
    const received: OtlpExportRequest[] = [];
    const { server, port } = await collector((body) => {
      received.push(body);
      return 200;
    });
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const registry = new Registry();
    const e = exporter(registry, { batchSize: 3 });
    e.configure({
      provider: 'p',
      samplingPercentage: 100,
      collector: { host: '127.0.0.1', port, path: '/v1/traces' },
    });
    e.add([span(1), span(2)]);
    e.add([span(3), span(4)]);
    await e.flush();
    const spans = received.flatMap((r) =>
      r.resourceSpans.flatMap((rs) => rs.scopeSpans?.flatMap((s) => s.spans ?? []) ?? []),
    );
    expect(spans.map((s) => s.name)).toEqual(['s1', 's2', 's3', 's4']);
    expect(received[0]?.resourceSpans[0]?.resource?.attributes).toEqual([
      { key: 'service.name', value: { stringValue: 'svc.default' } },
    ]);
    expect(received.length).toBe(2); // 3 + 1
    expect(await counter(registry, ProxyMetrics.tracingSpansExportedTotal)).toBe(4);
    expect(await counter(registry, ProxyMetrics.tracingSpansDroppedTotal)).toBe(0);
  });

  it('drops and counts spans a dead or failing collector cannot take', async () => {
    const registry = new Registry();
    const e = exporter(registry);
    // A port nothing listens on (the collector is down).
    const { server, port } = await collector(() => 200);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    e.configure({
      provider: 'p',
      samplingPercentage: 100,
      collector: { host: '127.0.0.1', port, path: '/v1/traces' },
    });
    e.add([span(1), span(2)]);
    await e.flush();
    expect(await counter(registry, ProxyMetrics.tracingSpansDroppedTotal, 'export_failed')).toBe(2);

    const failing = await collector(() => 503);
    closers.push(() => new Promise((resolve) => failing.server.close(() => resolve())));
    e.configure({
      provider: 'p',
      samplingPercentage: 100,
      collector: { host: '127.0.0.1', port: failing.port, path: '/v1/traces' },
    });
    e.add([span(3)]);
    await e.flush();
    expect(await counter(registry, ProxyMetrics.tracingSpansDroppedTotal, 'export_failed')).toBe(3);
    expect(e.queued).toBe(0);
  });

  it('holds at most maxQueuedSpans while an export is slow, dropping the rest', async () => {
    const registry = new Registry();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = createServer((req, res) => {
      req.resume();
      void held.then(() => res.end('{}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      release();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    });
    const port = (server.address() as AddressInfo).port;
    const e = exporter(registry, { batchSize: 2, maxQueuedSpans: 4, timeoutMs: 200 });
    e.configure({
      provider: 'p',
      samplingPercentage: 100,
      collector: { host: '127.0.0.1', port, path: '/v1/traces' },
    });
    e.add([span(1), span(2)]); // a full batch: sent at once, and the collector sits on it
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = 3; i <= 10; i++) e.add([span(i)]);
    expect(e.queued).toBe(4);
    expect(await counter(registry, ProxyMetrics.tracingSpansDroppedTotal, 'queue_full')).toBe(4);
    // The held export times out: its two spans are dropped too.
    await e.flush();
    expect(
      await counter(registry, ProxyMetrics.tracingSpansDroppedTotal, 'export_failed'),
    ).toBeGreaterThanOrEqual(2);
  });
});
