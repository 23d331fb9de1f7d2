// Distributed traces as they cross process boundaries: the OTLP/HTTP JSON a proxy exports (the subset of
// OpenTelemetry's trace protocol that Strait writes and reads), and the control plane's trace API
// (`/v1/traces`) that straitctl and the console read. Free of Node imports, for the console's page.
import { ApiPaths } from './resource-api.ts';

/** OTLP's AnyValue, as far as span attributes use it (64-bit ints are strings in OTLP JSON). */
export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
}

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

/** OTLP's SpanKind numbers. */
export const OtlpSpanKind = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
} as const;

/** OTLP's Status.code numbers. */
export const OtlpStatusCode = { unset: 0, ok: 1, error: 2 } as const;

/** One span in OTLP JSON: ids in lower-case hex, times in nanoseconds since the epoch as decimal strings. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: OtlpKeyValue[];
  status?: { code?: number; message?: string };
}

/** The body of POST /v1/traces (OTLP's ExportTraceServiceRequest). */
export interface OtlpExportRequest {
  resourceSpans: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string; version?: string }; spans?: OtlpSpan[] }[];
  }[];
}

/** OTLP's answer to an export; `rejectedSpans` counts what the receiver refused or dropped. */
export interface OtlpExportResponse {
  partialSuccess?: { rejectedSpans: number; errorMessage: string };
}

export type TraceSpanKind = 'server' | 'client' | 'internal' | 'producer' | 'consumer' | 'unspecified';

/** A span as the trace API returns it. */
export interface TraceSpan {
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  kind: TraceSpanKind;
  /** The resource's `service.name`: Istio's `<canonical service>.<namespace>`. */
  service: string;
  /** Epoch milliseconds (fractional). */
  startMs: number;
  durationMs: number;
  error: boolean;
  attributes: Record<string, string>;
}

/** One trace in GET /v1/traces. */
export interface TraceSummary {
  traceId: string;
  /** The root span's service and name (the earliest span's when the root has not arrived). */
  rootService: string;
  rootName: string;
  startMs: number;
  durationMs: number;
  spanCount: number;
  services: string[];
  error: boolean;
}

/** GET /v1/traces?service=&minDurationMs=&limit=: the newest traces first. */
export interface TraceList {
  traces: TraceSummary[];
}

/** GET /v1/traces/<traceId>: every span the store holds for it, by start time. */
export interface TraceDetail {
  traceId: string;
  spans: TraceSpan[];
}

/** `/v1/traces/<traceId>`. */
export function tracePath(traceId: string): string {
  return `${ApiPaths.traces}/${encodeURIComponent(traceId)}`;
}

/** One line of a trace's waterfall: a span at its depth in the tree, placed on the trace's time line. */
export interface WaterfallRow {
  span: TraceSpan;
  /** 0 for a root; a span whose parent is missing is drawn as a root. */
  depth: number;
  /** Milliseconds from the trace's first start to this span's start. */
  offsetMs: number;
}

/**
 * A trace's spans in tree order (each parent before its children, siblings by start time), as straitctl
 * and the console draw them; the trace's total duration is returned for scaling.
 */
export function waterfall(detail: TraceDetail): { rows: WaterfallRow[]; totalMs: number } {
  const spans = [...detail.spans].sort((a, b) => a.startMs - b.startMs);
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, TraceSpan[]>();
  const roots: TraceSpan[] = [];
  for (const span of spans) {
    if (span.parentSpanId === '' || !ids.has(span.parentSpanId)) roots.push(span);
    else {
      const list = children.get(span.parentSpanId) ?? [];
      list.push(span);
      children.set(span.parentSpanId, list);
    }
  }
  const start = spans[0]?.startMs ?? 0;
  const end = spans.reduce((max, s) => Math.max(max, s.startMs + s.durationMs), start);
  const rows: WaterfallRow[] = [];
  const visit = (span: TraceSpan, depth: number): void => {
    rows.push({ span, depth, offsetMs: span.startMs - start });
    for (const child of children.get(span.spanId) ?? []) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  return { rows, totalMs: end - start };
}
