// The control plane's in-memory trace store: spans by trace, newest traces kept, oldest evicted, with hard
// bounds on traces held and spans per trace, so no sender can make it grow without end. Queries answer the
// trace API: recent traces by service and minimum duration, and one trace's spans.
import type { TraceDetail, TraceSpan, TraceSummary } from '@strait/api';
import type { DecodedSpan } from './otlp.ts';

export interface TraceStoreOptions {
  /** Traces held; the least recently started is evicted first. Default 2000. */
  maxTraces?: number;
  /** Spans held per trace; more are dropped. Default 500. */
  maxSpansPerTrace?: number;
}

interface StoredTrace {
  traceId: string;
  spans: TraceSpan[];
  spanIds: Set<string>;
  startMs: number;
  endMs: number;
}

export interface TraceQuery {
  /** A service name: `service-a.default`, or just `service-a` for any namespace. */
  service?: string;
  minDurationMs?: number;
  limit?: number;
}

export class TraceStore {
  readonly #maxTraces: number;
  readonly #maxSpans: number;
  /** Insertion order is arrival order of each trace's first span: the first key is the oldest. */
  readonly #traces = new Map<string, StoredTrace>();
  /** Spans refused because a trace was full (counted for the answer's partialSuccess). */
  droppedSpans = 0;

  constructor(options: TraceStoreOptions = {}) {
    this.#maxTraces = options.maxTraces ?? 2000;
    this.#maxSpans = options.maxSpansPerTrace ?? 500;
  }

  get size(): number {
    return this.#traces.size;
  }

  /** Adds spans; returns how many were not kept (a full trace, or a span id seen before). */
  add(spans: readonly DecodedSpan[]): number {
    let rejected = 0;
    for (const span of spans) {
      let trace = this.#traces.get(span.traceId);
      if (!trace) {
        trace = { traceId: span.traceId, spans: [], spanIds: new Set(), startMs: span.startMs, endMs: 0 };
        this.#traces.set(span.traceId, trace);
        if (this.#traces.size > this.#maxTraces) {
          const oldest = this.#traces.keys().next().value as string;
          this.#traces.delete(oldest);
        }
      }
      if (trace.spans.length >= this.#maxSpans || trace.spanIds.has(span.spanId)) {
        rejected++;
        continue;
      }
      const { traceId: _, ...stored } = span;
      trace.spans.push(stored);
      trace.spanIds.add(span.spanId);
      trace.startMs = Math.min(trace.startMs, span.startMs);
      trace.endMs = Math.max(trace.endMs, span.startMs + span.durationMs);
    }
    this.droppedSpans += rejected;
    return rejected;
  }

  /** Recent traces, newest first. */
  list(query: TraceQuery = {}): TraceSummary[] {
    const limit = Math.max(1, Math.min(query.limit ?? 20, 1000));
    const out: TraceSummary[] = [];
    const traces = [...this.#traces.values()].sort((a, b) => b.startMs - a.startMs);
    for (const trace of traces) {
      if (out.length >= limit) break;
      const summary = summarize(trace);
      if (query.minDurationMs !== undefined && summary.durationMs < query.minDurationMs) continue;
      if (query.service && !summary.services.some((s) => serviceMatches(s, query.service as string)))
        continue;
      out.push(summary);
    }
    return out;
  }

  get(traceId: string): TraceDetail | undefined {
    const trace = this.#traces.get(traceId.toLowerCase());
    if (!trace) return undefined;
    return { traceId: trace.traceId, spans: [...trace.spans].sort((a, b) => a.startMs - b.startMs) };
  }
}

function serviceMatches(service: string, wanted: string): boolean {
  return service === wanted || service.split('.')[0] === wanted;
}

function summarize(trace: StoredTrace): TraceSummary {
  const ids = trace.spanIds;
  const roots = trace.spans.filter((s) => s.parentSpanId === '' || !ids.has(s.parentSpanId));
  const root = roots.reduce<TraceSpan | undefined>(
    (a, s) => (a === undefined || s.startMs < a.startMs ? s : a),
    undefined,
  );
  return {
    traceId: trace.traceId,
    rootService: root?.service ?? 'unknown',
    rootName: root?.name ?? '',
    startMs: trace.startMs,
    durationMs: Math.max(0, trace.endMs - trace.startMs),
    spanCount: trace.spans.length,
    services: [...new Set(trace.spans.map((s) => s.service))].sort(),
    error: trace.spans.some((s) => s.error),
  };
}
