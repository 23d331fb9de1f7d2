// Reading OTLP/HTTP JSON export requests (what proxies, and any OpenTelemetry SDK, POST to /v1/traces) into
// the trace API's spans. Unknown fields are ignored as OTLP asks of receivers; a body that is not an export
// request, or a span without valid ids and times, is refused with the path of what is wrong.
import {
  Errors,
  OtlpSpanKind,
  OtlpStatusCode,
  StraitError,
  type TraceSpan,
  type TraceSpanKind,
} from '@strait/api';
import { z } from 'zod';

const hexId = (digits: number) =>
  z.string().regex(new RegExp(`^[0-9a-fA-F]{${digits}}$`), `expected ${digits} hex digits`);
const nanos = z.union([
  z.string().regex(/^\d{1,20}$/, 'expected nanoseconds as digits'),
  z.number().int().min(0),
]);

const AnyValueSchema = z.object({
  stringValue: z.string().optional(),
  boolValue: z.boolean().optional(),
  intValue: z.union([z.string(), z.number()]).optional(),
  doubleValue: z.number().optional(),
});
const KeyValuesSchema = z.array(z.object({ key: z.string(), value: AnyValueSchema.optional() })).optional();

const SpanSchema = z.object({
  traceId: hexId(32),
  spanId: hexId(16),
  parentSpanId: z.union([hexId(16), z.literal('')]).optional(),
  name: z.string().max(1000),
  kind: z.number().int().min(0).max(5).optional(),
  startTimeUnixNano: nanos,
  endTimeUnixNano: nanos,
  attributes: KeyValuesSchema,
  status: z.object({ code: z.number().int().optional(), message: z.string().optional() }).optional(),
});

export const ExportRequestSchema = z.object({
  resourceSpans: z
    .array(
      z.object({
        resource: z.object({ attributes: KeyValuesSchema }).optional(),
        scopeSpans: z.array(z.object({ spans: z.array(SpanSchema).optional() })).optional(),
      }),
    )
    .optional(),
});

const KINDS: Record<number, TraceSpanKind> = {
  [OtlpSpanKind.unspecified]: 'unspecified',
  [OtlpSpanKind.internal]: 'internal',
  [OtlpSpanKind.server]: 'server',
  [OtlpSpanKind.client]: 'client',
  [OtlpSpanKind.producer]: 'producer',
  [OtlpSpanKind.consumer]: 'consumer',
};

type KeyValues = z.infer<typeof KeyValuesSchema>;

function valueText(value: z.infer<typeof AnyValueSchema> | undefined): string {
  if (!value) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return String(value.intValue);
  if (value.doubleValue !== undefined) return String(value.doubleValue);
  if (value.boolValue !== undefined) return String(value.boolValue);
  return '';
}

function attributesOf(list: KeyValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) out[kv.key] = valueText(kv.value).slice(0, 1000);
  return out;
}

/** Epoch ms (fractional) of an OTLP nanosecond time: the digits split so no precision is lost to a double first. */
function epochMs(value: string | number): number {
  if (typeof value === 'number') return value / 1e6;
  if (value.length <= 6) return Number(value) / 1e6;
  return Number(value.slice(0, -6)) + Number(value.slice(-6)) / 1e6;
}

/** A trace id's spans, as the store keeps them. */
export interface DecodedSpan extends TraceSpan {
  traceId: string;
}

/** The spans of one export request; throws a 400 StraitError naming the first problem. */
export function decodeExport(body: unknown): DecodedSpan[] {
  const parsed = ExportRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') ?? '';
    throw new StraitError(
      Errors.BAD_REQUEST,
      `not an OTLP/HTTP JSON export request: ${where.replace(/^\./, '') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const spans: DecodedSpan[] = [];
  for (const rs of parsed.data.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    const service = resource['service.name'] ?? 'unknown';
    for (const scope of rs.scopeSpans ?? [])
      for (const s of scope.spans ?? []) {
        const startMs = epochMs(s.startTimeUnixNano);
        const attributes = attributesOf(s.attributes);
        spans.push({
          traceId: s.traceId.toLowerCase(),
          spanId: s.spanId.toLowerCase(),
          parentSpanId: (s.parentSpanId ?? '').toLowerCase(),
          name: s.name,
          kind: KINDS[s.kind ?? 0] ?? 'unspecified',
          service,
          startMs,
          durationMs: Math.max(0, epochMs(s.endTimeUnixNano) - startMs),
          error: s.status?.code === OtlpStatusCode.error || attributes.error === 'true',
          attributes,
        });
      }
  }
  return spans;
}
