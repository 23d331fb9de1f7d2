// One sampled request's trace as the request path keeps it: the trace and span ids, the server span's
// start, one client span per upstream attempt (so a retry shows as two), and the context each attempt
// carries upstream. Unsampled requests get none of this: their headers pass through as they came.

import type { HeaderList } from '../codec/headers.ts';
import { removeField, setField } from '../codec/headers.ts';
import { newSpanId, newTraceId } from './ids.ts';
import { sampledByRequestId } from './sampling.ts';
import { type IncomingContext, readTraceContext, type TraceFormat } from './trace-context.ts';

/** What the proxy's tracing is set to; undefined when tracing is off. */
export interface TracingPolicy {
  /** Share of requests that arrive without a decision and are traced, 0-100. */
  samplingPercent: number;
}

/** One upstream attempt's client span. */
export interface AttemptSpan {
  readonly spanId: string;
  /** performance.now() when the attempt began and ended. */
  readonly start: number;
  end: number;
  /** The upstream's status, 0 when it never answered. */
  status: number;
  /** Why the attempt failed (connect-failure, timeout, reset, retried), "" when it did not. */
  failure: string;
  /** The endpoint tried, `address:port`. */
  upstream: string;
}

export class RequestTrace {
  readonly traceId: string;
  /** The caller's span, "" at the root. */
  readonly parentSpanId: string;
  /** This proxy's server span. */
  readonly spanId: string;
  /** B3 goes upstream too when the request came with it. */
  readonly format: TraceFormat;
  /** performance.now() when the request arrived. */
  readonly start: number;
  readonly attempts: AttemptSpan[] = [];

  constructor(incoming: IncomingContext | undefined, start: number) {
    const continued = incoming !== undefined && incoming.traceId !== '';
    this.traceId = continued ? incoming.traceId : newTraceId();
    this.parentSpanId = continued ? incoming.parentSpanId : '';
    this.spanId = newSpanId();
    this.format = incoming?.format ?? 'w3c';
    this.start = start;
  }

  /** Opens a client span for an attempt and writes its context into the fields going upstream. */
  beginAttempt(raw: string[], upstream: string): AttemptSpan {
    const attempt: AttemptSpan = {
      spanId: newSpanId(),
      start: performance.now(),
      end: 0,
      status: 0,
      failure: '',
      upstream,
    };
    this.attempts.push(attempt);
    setField(raw, 'traceparent', `00-${this.traceId}-${attempt.spanId}-01`);
    if (this.format === 'b3') setField(raw, 'b3', `${this.traceId}-${attempt.spanId}-1-${this.spanId}`);
    else if (this.format === 'b3multi') {
      setField(raw, 'x-b3-traceid', this.traceId);
      setField(raw, 'x-b3-spanid', attempt.spanId);
      setField(raw, 'x-b3-parentspanid', this.spanId);
      setField(raw, 'x-b3-sampled', '1');
      removeField(raw, 'x-b3-flags');
    }
    return attempt;
  }
}

/**
 * The trace of a request about to be routed, or undefined when it is not sampled. A caller's decision
 * stands; without one, the request id decides (see sampling.ts). The cost when unsampled is the header
 * lookups and, for a request that carries a context, its parse.
 */
export function traceRequest(
  headers: HeaderList,
  requestId: string,
  policy: TracingPolicy,
  start: number,
): RequestTrace | undefined {
  const incoming = readTraceContext(headers);
  const sampled = incoming?.sampled ?? sampledByRequestId(requestId, policy.samplingPercent);
  return sampled ? new RequestTrace(incoming, start) : undefined;
}
