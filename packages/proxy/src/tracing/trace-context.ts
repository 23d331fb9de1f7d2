// Reading a request's trace context: W3C `traceparent` first (as Envoy's OpenTelemetry tracer does), then
// Zipkin's B3 as one `b3` header, then as the `x-b3-*` set. Only what is needed to continue the trace is
// kept; a malformed header is ignored (the request is treated as carrying no context), never refused.
import type { HeaderList } from '../codec/headers.ts';

/** How the context arrived: the upstream attempt writes W3C always, and B3 in the same shape when it came so. */
export type TraceFormat = 'w3c' | 'b3' | 'b3multi';

/** A caller's trace context. */
export interface IncomingContext {
  format: TraceFormat;
  /** 32 lower-case hex digits (a 64-bit B3 id is padded on the left); "" when B3 carried only a decision. */
  traceId: string;
  /** The caller's span (16 hex digits), the parent of this proxy's server span; "" when none. */
  parentSpanId: string;
  /** The caller's decision; undefined when it left the decision to this proxy. */
  sampled: boolean | undefined;
}

function hexDigits(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Lower-case hex and not all zeros (an all-zero id is invalid in both formats). */
function isId(text: string, from: number, to: number): boolean {
  if (!hexDigits(text, from, to)) return false;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) !== 48) return true;
  return false;
}

/** `version-traceid-parentid-flags` (W3C Trace Context level 1); a later version may append `-...`. */
export function parseTraceparent(value: string): IncomingContext | undefined {
  if (value.length < 55 || !hexDigits(value, 0, 2) || value.startsWith('ff')) return undefined;
  if (value.charCodeAt(2) !== 45 || value.charCodeAt(35) !== 45 || value.charCodeAt(52) !== 45)
    return undefined;
  const v00 = value.charCodeAt(0) === 48 && value.charCodeAt(1) === 48;
  if (v00 ? value.length !== 55 : value.length > 55 && value.charCodeAt(55) !== 45) return undefined;
  if (!isId(value, 3, 35) || !isId(value, 36, 52) || !hexDigits(value, 53, 55)) return undefined;
  // The sampled flag is the lowest bit of the flags byte: its second hex digit is odd.
  const last = value.charCodeAt(54);
  return {
    format: 'w3c',
    traceId: value.slice(3, 35),
    parentSpanId: value.slice(36, 52),
    sampled: (last <= 57 ? last - 48 : last - 87) % 2 === 1,
  };
}

/** A B3 trace id: 16 or 32 hex digits, returned as 32. */
function b3TraceId(id: string): string | undefined {
  if (id.length === 32 && isId(id, 0, 32)) return id;
  if (id.length === 16 && isId(id, 0, 16)) return `0000000000000000${id}`;
  return undefined;
}

function b3Sampled(state: string | undefined): boolean | undefined | null {
  if (state === undefined) return undefined;
  if (state === '1' || state === 'd' || state === 'true') return true;
  if (state === '0' || state === 'false') return false;
  return null; // malformed
}

/** `b3: {traceid}-{spanid}[-{sampled}[-{parentspanid}]]`, or only the decision: `b3: 0|1|d`. */
export function parseB3Single(value: string): IncomingContext | undefined {
  const parts = value.split('-');
  if (parts.length === 1) {
    const sampled = b3Sampled(parts[0]);
    return sampled === null || sampled === undefined
      ? undefined
      : { format: 'b3', traceId: '', parentSpanId: '', sampled };
  }
  if (parts.length > 4) return undefined;
  const traceId = b3TraceId(parts[0] as string);
  const spanId = parts[1] as string;
  if (!traceId || spanId.length !== 16 || !isId(spanId, 0, 16)) return undefined;
  const sampled = b3Sampled(parts[2]);
  if (sampled === null) return undefined;
  return { format: 'b3', traceId, parentSpanId: spanId, sampled };
}

/** `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled` (`x-b3-flags: 1` is debug, i.e. sampled). */
export function parseB3Multi(headers: HeaderList): IncomingContext | undefined {
  const rawTrace = headers.get('x-b3-traceid');
  const flags = headers.get('x-b3-flags');
  let sampled = flags === '1' ? true : b3Sampled(headers.get('x-b3-sampled'));
  if (sampled === null) sampled = undefined;
  if (rawTrace === undefined)
    return sampled === undefined ? undefined : { format: 'b3multi', traceId: '', parentSpanId: '', sampled };
  const traceId = b3TraceId(rawTrace);
  const spanId = headers.get('x-b3-spanid');
  if (!traceId || spanId === undefined || spanId.length !== 16 || !isId(spanId, 0, 16)) return undefined;
  return { format: 'b3multi', traceId, parentSpanId: spanId, sampled };
}

/** The request's trace context, by precedence; undefined when it carries none (or none that parses). */
export function readTraceContext(headers: HeaderList): IncomingContext | undefined {
  const traceparent = headers.get('traceparent');
  if (traceparent !== undefined) {
    const context = parseTraceparent(traceparent);
    if (context) return context;
  }
  const b3 = headers.get('b3');
  if (b3 !== undefined) {
    const context = parseB3Single(b3);
    if (context) return context;
  }
  return parseB3Multi(headers);
}
