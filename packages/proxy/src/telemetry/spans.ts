// A traced request's spans, shaped like the ones Istio's Envoy reports: a SERVER span for the request this
// proxy received and a CLIENT span ("router <cluster> egress") for each upstream attempt, with Envoy's tags
// (http.*, upstream_cluster, response_flags, node_id, guid:x-request-id, peer.address, istio.*,
// component) and error status on 5xx and on local failures. Built once the request is done.
import { type OtlpKeyValue, type OtlpSpan, OtlpSpanKind, OtlpStatusCode } from '@strait/api';
import type { NodeIdentity, StreamRecord } from '../listener/context.ts';
import type { AttemptSpan, RequestTrace } from '../tracing/request-trace.ts';
import { epochMs } from './epoch-clock.ts';

/** Envoy's mesh id default, and Istio's `istio.mesh_id` tag. */
const MESH_ID = 'cluster.local';

/** The service name Istio gives a proxy's spans: `<canonical service>.<namespace>`. */
export function tracingServiceName(node: NodeIdentity): string {
  return `${node.app}.${node.namespace}`;
}

/** Epoch nanoseconds, as OTLP JSON writes them, of a performance.now() reading. */
export function unixNano(perfMs: number): string {
  const ms = epochMs(perfMs);
  const whole = Math.floor(ms);
  const nanos = Math.round((ms - whole) * 1e6);
  // Rounding can give a full million: carry it into the milliseconds.
  return nanos >= 1e6 ? `${whole + 1}000000` : `${whole}${String(nanos).padStart(6, '0')}`;
}

const attr = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });

/** Envoy counts a request as an error when it got no response or a 5xx, or when the proxy failed it. */
function isError(status: number, flag: string): boolean {
  return status === 0 || status >= 500 || (flag !== '-' && flag !== 'DI');
}

function status(error: boolean, message: string): OtlpSpan['status'] {
  return error ? { code: OtlpStatusCode.error, message } : { code: OtlpStatusCode.unset };
}

/** The tags that name the proxy, the same on every span it reports: built once per node. */
const nodeTags = new WeakMap<NodeIdentity, OtlpKeyValue[]>();

function tagsOf(node: NodeIdentity): OtlpKeyValue[] {
  let tags = nodeTags.get(node);
  if (!tags) {
    tags = [
      attr('node_id', node.id),
      attr('component', 'proxy'),
      attr('istio.canonical_service', node.app),
      attr('istio.canonical_revision', node.version),
      attr('istio.namespace', node.namespace),
      attr('istio.mesh_id', MESH_ID),
    ];
    nodeTags.set(node, tags);
  }
  return tags;
}

/** The spans of one finished, traced request (server span first). */
export function spansOf(r: StreamRecord, trace: RequestTrace, node: NodeIdentity): OtlpSpan[] {
  const common = [
    ...tagsOf(node),
    attr('guid:x-request-id', r.requestId),
    attr('http.method', r.method),
    attr('http.url', `http://${r.authority}${r.path}`),
  ];
  const error = isError(r.status, r.flag);
  const server: OtlpSpan = {
    traceId: trace.traceId,
    spanId: trace.spanId,
    name: `${r.authority}/*`,
    kind: OtlpSpanKind.server,
    startTimeUnixNano: unixNano(trace.start),
    endTimeUnixNano: unixNano(trace.start + r.durationMs),
    attributes: [
      ...common,
      attr('http.protocol', 'HTTP/1.1'),
      attr('http.status_code', String(r.status)),
      attr('response_flags', r.flag),
      attr('upstream_cluster', r.clusterName),
      attr('peer.address', r.remoteAddress),
      attr('user_agent', r.userAgent ?? '-'),
      attr('request_size', String(r.requestBytes)),
      attr('response_size', String(r.responseBytes)),
      ...(error ? [attr('error', 'true')] : []),
    ],
    status: status(error, r.flag === '-' ? `HTTP ${r.status}` : r.flag),
  };
  if (trace.parentSpanId !== '') server.parentSpanId = trace.parentSpanId;
  const spans = [server];
  for (const attempt of trace.attempts) spans.push(clientSpan(r, trace, attempt, common));
  return spans;
}

function clientSpan(
  r: StreamRecord,
  trace: RequestTrace,
  attempt: AttemptSpan,
  common: OtlpKeyValue[],
): OtlpSpan {
  const error = attempt.status === 0 || attempt.status >= 500 || attempt.failure !== '';
  // An attempt cut short by the route's end (rare: it ends before the stream) closes with the server span.
  const end = attempt.end === 0 ? trace.start + r.durationMs : attempt.end;
  return {
    traceId: trace.traceId,
    spanId: attempt.spanId,
    parentSpanId: trace.spanId,
    name: `router ${r.clusterName} egress`,
    kind: OtlpSpanKind.client,
    startTimeUnixNano: unixNano(attempt.start),
    endTimeUnixNano: unixNano(end),
    attributes: [
      ...common,
      attr('http.status_code', String(attempt.status)),
      attr('upstream_cluster', r.clusterName),
      attr('upstream_address', attempt.upstream),
      attr('peer.address', attempt.upstream),
      ...(attempt.failure === '' ? [] : [attr('upstream_failure', attempt.failure)]),
      ...(error ? [attr('error', 'true')] : []),
    ],
    status: status(error, attempt.failure || `HTTP ${attempt.status}`),
  };
}
