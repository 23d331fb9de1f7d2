// Sends finished spans to the trace collector as OTLP over HTTP with the JSON encoding (part of the OTLP/HTTP
// spec; it needs no protobuf code), in batches, one export in flight at a time. Memory is bounded: spans
// beyond the queue's limit, and a batch the collector refuses or does not take in time, are dropped and
// counted (strait_tracing_spans_dropped_total) rather than ever holding up a request.
import {
  type OtlpExportRequest,
  type OtlpKeyValue,
  type OtlpSpan,
  ProxyMetrics,
  type TracingSettings,
} from '@strait/api';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { Agent } from '../upstream/undici.ts';

export interface SpanExporterOptions {
  registry: Registry;
  logger: Logger;
  /** The OTLP resource attributes every span is sent with (service.name, ...). */
  resource: OtlpKeyValue[];
  /** Spans that may wait; more are dropped. Default 4096. */
  maxQueuedSpans?: number;
  /** Spans per export. Default 512. */
  batchSize?: number;
  /** Longest a span waits before its batch is sent, ms. Default 1000. */
  flushIntervalMs?: number;
  /** An export not answered within this is given up (and its spans counted as dropped). Default 5000. */
  timeoutMs?: number;
}

type DropReason = 'queue_full' | 'export_failed' | 'no_collector';

export class SpanExporter {
  readonly #logger: Logger;
  readonly #resource: OtlpKeyValue[];
  readonly #maxQueued: number;
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #exported: Counter;
  readonly #dropped: Counter<'reason'>;
  readonly #agent = new Agent({ connections: 2, keepAliveTimeout: 4000 });
  /** The collector: origin (`http://host:port`) and path; undefined when there is none. */
  #target: { origin: string; path: string } | undefined;
  #queue: OtlpSpan[] = [];
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastWarning = 0;

  constructor(options: SpanExporterOptions) {
    this.#logger = options.logger;
    this.#resource = options.resource;
    this.#maxQueued = options.maxQueuedSpans ?? 4096;
    this.#batchSize = options.batchSize ?? 512;
    this.#intervalMs = options.flushIntervalMs ?? 1000;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#exported = new Counter({
      name: ProxyMetrics.tracingSpansExportedTotal,
      help: 'Spans sent to the trace collector and accepted by it.',
      registers: [options.registry],
    });
    this.#dropped = new Counter({
      name: ProxyMetrics.tracingSpansDroppedTotal,
      help: 'Spans dropped: the queue was full, or the collector refused, failed or was too slow.',
      labelNames: ['reason'],
      registers: [options.registry],
    });
    for (const reason of ['queue_full', 'export_failed'] as const) this.#dropped.labels(reason).inc(0);
  }

  /** Points the exporter at a collector (from the snapshot); undefined stops exporting. */
  configure(tracing: TracingSettings | undefined): void {
    const c = tracing?.collector;
    if (c === undefined) this.#target = undefined;
    else {
      const ipv6 = c.host.includes(':') && !c.host.startsWith('[');
      this.#target = { origin: `http://${ipv6 ? `[${c.host}]` : c.host}:${c.port}`, path: c.path };
    }
    if (this.#target === undefined && this.#queue.length > 0)
      this.#drop(this.#queue.splice(0).length, 'no_collector');
  }

  /** Queues a request's spans; never blocks, never throws. */
  add(spans: readonly OtlpSpan[]): void {
    const room = this.#maxQueued - this.#queue.length;
    if (room < spans.length) {
      this.#drop(spans.length - Math.max(room, 0), 'queue_full');
      for (let i = 0; i < room; i++) this.#queue.push(spans[i] as OtlpSpan);
    } else for (const span of spans) this.#queue.push(span);
    if (this.#queue.length >= this.#batchSize) this.#flushSoon(0);
    else this.#flushSoon(this.#intervalMs);
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Sends what is queued now (one batch at a time); resolves when the queue is empty or an export failed. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      if (this.#inFlight) {
        await this.#inFlight;
        continue;
      }
      const before = this.#queue.length;
      this.#exportBatch();
      await this.#inFlight;
      if (this.#queue.length >= before) return;
    }
  }

  async close(): Promise<void> {
    await this.flush().catch(() => {});
    if (this.#timer) clearTimeout(this.#timer);
    await this.#agent.close();
  }

  #flushSoon(delayMs: number): void {
    if (this.#timer !== undefined || this.#inFlight !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#exportBatch();
    }, delayMs);
    this.#timer.unref();
  }

  #exportBatch(): void {
    if (this.#inFlight || this.#queue.length === 0) return;
    const target = this.#target;
    const batch = this.#queue.splice(0, this.#batchSize);
    if (target === undefined) {
      this.#drop(batch.length, 'no_collector');
      return;
    }
    this.#inFlight = this.#send(target, batch).finally(() => {
      this.#inFlight = undefined;
      if (this.#queue.length > 0)
        this.#flushSoon(this.#queue.length >= this.#batchSize ? 0 : this.#intervalMs);
    });
  }

  async #send(target: { origin: string; path: string }, spans: OtlpSpan[]): Promise<void> {
    const body: OtlpExportRequest = {
      resourceSpans: [
        {
          resource: { attributes: this.#resource },
          scopeSpans: [{ scope: { name: 'strait-proxy' }, spans }],
        },
      ],
    };
    try {
      const res = await this.#agent.request({
        origin: target.origin,
        path: target.path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const text = await res.body.text();
      if (res.statusCode < 200 || res.statusCode >= 300)
        throw new Error(`collector answered ${res.statusCode}`);
      const rejected = rejectedSpans(text);
      if (rejected > 0) this.#drop(rejected, 'export_failed');
      this.#exported.inc(spans.length - rejected);
    } catch (err) {
      this.#drop(spans.length, 'export_failed');
      // One warning per minute at most: a dead collector must not flood the log either.
      const now = Date.now();
      if (now - this.#lastWarning >= 60_000) {
        this.#lastWarning = now;
        const collector = `${target.origin}${target.path}`;
        this.#logger.warn({ err, collector, spans: spans.length }, 'span export failed; spans dropped');
      }
    }
  }

  #drop(count: number, reason: DropReason): void {
    if (count > 0) this.#dropped.labels(reason).inc(count);
  }
}

/** OTLP's partial success: how many spans the collector says it did not keep. */
function rejectedSpans(text: string): number {
  if (!text.includes('rejectedSpans')) return 0;
  try {
    const n = Number(
      (JSON.parse(text) as { partialSuccess?: { rejectedSpans?: unknown } }).partialSuccess?.rejectedSpans,
    );
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}
