// One reading of the mesh's traffic for the console: request rates, latency bucket rates, endpoint
// gauges and egress counters, already summed by the labels the console groups by. Two readers give it:
// Prometheus (PromQL) and the control plane's own scrape of every proxy's /stats/prometheus.
import { IstioMetrics, ProxyMetrics } from '@strait/api';

/** A summed series: its grouping labels and its value (a rate per second, or a gauge). */
export interface Series {
  labels: Record<string, string>;
  value: number;
}

/** A counter summed by its grouping labels: the total since the proxies started, and its rate. */
export interface CounterSeries {
  labels: Record<string, string>;
  total: number;
  rate: number;
}

export interface TrafficReading {
  /** istio_requests_total rates by REQUEST_GROUP. */
  requests: Series[];
  /** istio_request_duration_milliseconds_bucket rates (reporter="source") by BUCKET_GROUP and le. */
  buckets: Series[];
  /** strait_cluster_healthy_endpoints by proxy_id and cluster. */
  healthyEndpoints: Series[];
  /** strait_cluster_endpoints by proxy_id and cluster. */
  totalEndpoints: Series[];
  /** strait_egress_denied_total by EGRESS_DENIED_GROUP. */
  egressDenied: CounterSeries[];
  /** strait_egress_allowed_total by EGRESS_ALLOWED_GROUP. */
  egressAllowed: CounterSeries[];
  /** What went wrong while reading (a proxy that did not answer, Prometheus down). */
  problems: string[];
}

export interface TrafficReader {
  readonly source: 'prometheus' | 'proxies';
  readonly windowSeconds: number;
  /** One sentence on where the numbers come from. */
  describe(): string;
  read(): Promise<TrafficReading>;
  close(): void;
}

/** The labels that name an edge: who called whom, as the reporting proxy saw it. */
export const EDGE_LABELS = [
  'reporter',
  'source_workload',
  'source_app',
  'source_version',
  'destination_workload',
  'destination_app',
  'destination_version',
  'destination_service',
] as const;

export const REQUEST_GROUP = [...EDGE_LABELS, 'response_code', 'connection_security_policy'] as const;
export const BUCKET_GROUP = EDGE_LABELS;
/** proxy_id and workload are the Prometheus target's labels (HTTP SD); the scraper adds the same. */
export const EGRESS_DENIED_GROUP = ['proxy_id', 'workload', 'host', 'reason'] as const;
export const EGRESS_ALLOWED_GROUP = ['proxy_id', 'workload', 'host'] as const;
export const ENDPOINT_GROUP = ['proxy_id', 'cluster'] as const;

/** The metric families a reading is made of. */
export const ReadingMetrics = {
  requests: IstioMetrics.requestsTotal,
  buckets: `${IstioMetrics.requestDuration}_bucket`,
  healthyEndpoints: ProxyMetrics.clusterHealthyEndpoints,
  totalEndpoints: ProxyMetrics.clusterEndpoints,
  egressDenied: ProxyMetrics.egressDeniedTotal,
  egressAllowed: ProxyMetrics.egressAllowedTotal,
} as const;

/** The labels of `labels` named in `group`, missing ones as "unknown" (Istio's empty value). */
export function pick(labels: Record<string, string>, group: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of group) out[name] = labels[name] ?? 'unknown';
  return out;
}

/** A stable key for a label set, in the group's order. */
export function keyOf(labels: Record<string, string>, group: readonly string[]): string {
  return group.map((name) => labels[name] ?? '').join('\u0000');
}

export function emptyReading(problems: string[] = []): TrafficReading {
  return {
    requests: [],
    buckets: [],
    healthyEndpoints: [],
    totalEndpoints: [],
    egressDenied: [],
    egressAllowed: [],
    problems,
  };
}
