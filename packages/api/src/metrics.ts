// Metric names and label sets, shared by the proxy, the control plane and the dashboards' tests.
// Istio's standard names and buckets are kept exactly, so Istio dashboards and PromQL work.

export const IstioMetrics = {
  requestsTotal: 'istio_requests_total',
  requestDuration: 'istio_request_duration_milliseconds',
  requestBytes: 'istio_request_bytes',
  responseBytes: 'istio_response_bytes',
  tcpSentBytes: 'istio_tcp_sent_bytes_total',
  tcpReceivedBytes: 'istio_tcp_received_bytes_total',
  tcpConnectionsOpened: 'istio_tcp_connections_opened_total',
  tcpConnectionsClosed: 'istio_tcp_connections_closed_total',
  build: 'istio_build',
} as const;

/** Istio's default duration buckets (milliseconds). */
export const DurationBucketsMs = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

/** Istio's default size buckets (bytes): 1, 10, 100, … 10^9. */
export const SizeBuckets = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/** Istio's standard label set for HTTP request metrics, in Istio's order. */
export const IstioRequestLabels = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

/** The TCP metrics drop the HTTP-only labels. */
export const IstioTcpLabels = IstioRequestLabels.filter(
  (l) => l !== 'request_protocol' && l !== 'response_code' && l !== 'grpc_response_status',
) as Exclude<
  (typeof IstioRequestLabels)[number],
  'request_protocol' | 'response_code' | 'grpc_response_status'
>[];

export type IstioRequestLabel = (typeof IstioRequestLabels)[number];

/** Strait's own proxy health metrics. */
export const ProxyMetrics = {
  clusterHealthyEndpoints: 'strait_cluster_healthy_endpoints',
  clusterEndpoints: 'strait_cluster_endpoints',
  outlierEjectionsTotal: 'strait_outlier_ejections_total',
  healthCheckTotal: 'strait_health_check_total',
  egressDeniedTotal: 'strait_egress_denied_total',
  egressAllowedTotal: 'strait_egress_allowed_total',
  configVersionInfo: 'strait_config_version_info',
  configStale: 'strait_config_stale',
  configNacksTotal: 'strait_config_nacks_total',
  configAppliesTotal: 'strait_config_applies_total',
  rateLimitedTotal: 'strait_rate_limited_total',
  circuitOpenTotal: 'strait_circuit_open_total',
  accessLogDroppedTotal: 'strait_access_log_dropped_lines_total',
  downstreamConnectionsActive: 'strait_downstream_cx_active',
  downstreamConnectionsOverflowTotal: 'strait_downstream_cx_overflow_total',
  /** Counter: spans sent to the trace collector and accepted. */
  tracingSpansExportedTotal: 'strait_tracing_spans_exported_total',
  /** Counter {reason=queue_full|export_failed}: spans dropped rather than ever slowing a request. */
  tracingSpansDroppedTotal: 'strait_tracing_spans_dropped_total',
} as const;

/**
 * Envoy's statistics for the connection to the control plane, kept by every proxy under Envoy's name for
 * that cluster (`cluster_name="xds-grpc"`), so Istio's control-plane dashboard finds them.
 */
export const DiscoveryClusterMetrics = {
  clusterName: 'xds-grpc',
  connectionsActive: 'envoy_cluster_upstream_cx_active',
  connectionsTotal: 'envoy_cluster_upstream_cx_total',
  connectFailures: 'envoy_cluster_upstream_cx_connect_fail',
  bytesReceived: 'envoy_cluster_upstream_cx_rx_bytes_total',
  bytesSent: 'envoy_cluster_upstream_cx_tx_bytes_total',
} as const;

/** Control-plane metrics: istiod's names (and labels and buckets) where istiod has the same event. */
export const ControlPlaneMetrics = {
  /** Gauge: proxies connected. */
  xdsConnected: 'pilot_xds',
  /** Counter {type=lds|rds|cds|eds}: pushes to one proxy that carried resources of that type. */
  xdsPushes: 'pilot_xds_pushes',
  /** Histogram {type}, seconds: from taking a proxy's turn to its message reaching the kernel. */
  xdsPushTime: 'pilot_xds_push_time',
  /** Histogram, seconds: writing one message to a proxy's stream until the kernel has it. */
  xdsSendTime: 'pilot_xds_send_time',
  /** Histogram {type}, bytes: the resources of each type in one push. */
  xdsConfigSize: 'pilot_xds_config_size_bytes',
  /** Histogram, seconds: a proxy's wait in the push window's queue. */
  proxyQueueTime: 'pilot_proxy_queue_time',
  /** Histogram, seconds: from a configuration or registry change to a proxy's ACK of it. */
  convergenceTime: 'pilot_proxy_convergence_time',
  /** Histogram, seconds: from a push's first change entering the debounce to the push starting. */
  debounceTime: 'pilot_debounce_time',
  /** Histogram, seconds: indexing the mesh for a new generation of translations (istiod's push context). */
  pushContextInitTime: 'pilot_pushcontext_init_seconds',
  /** Counter {type=config|endpoint|proxy}: changes that triggered pushes, by reason. */
  pushTriggers: 'pilot_push_triggers',
  /** Counter {type=config|eds}: updates the control plane received (configuration, registry). */
  inboundUpdates: 'pilot_inbound_updates',
  /** Counter {type}: resources of each type NACKed by proxies. */
  xdsRejects: 'pilot_total_xds_rejects',
  /** Counter {type}: ACKs and NACKs for a nonce that is no longer current. */
  xdsExpiredNonce: 'pilot_xds_expired_nonce',
  /** Counter: streams closed because the proxy stopped reading (writes not drained for 3 heartbeats). */
  xdsWriteTimeouts: 'pilot_xds_write_timeout',
  /** Counter: translations that failed for a proxy (it keeps its last config). */
  xdsInternalErrors: 'pilot_total_xds_internal_errors',
  /** Gauge: services known (mesh services and external hosts). */
  services: 'pilot_services',
  /** Gauge: VirtualServices known. */
  virtualServices: 'pilot_virt_services',
  /** Counter {group, version, resource}: resources that passed validation in an accepted change. */
  validationPassed: 'galley_validation_passed',
  /** Counter {group, version, resource, reason}: resources refused by validation. */
  validationFailed: 'galley_validation_failed',
  /** Counter: certificate signing requests the CA received (istiod's Citadel metrics). */
  caCsrCount: 'citadel_server_csr_count',
  /** Counter: certificates the CA issued. */
  caIssued: 'citadel_server_success_cert_issuance_count',
  /** Gauge: when the root certificate expires, seconds since the epoch. */
  caRootExpiry: 'citadel_server_root_cert_expiry_timestamp',
  configValidationFailures: 'strait_config_validation_failures_total',
  resources: 'strait_config_resources',
  /** Gauge {replica, store}, always 1: which replica this is and what store it uses. */
  replicaInfo: 'strait_control_plane_replica_info',
  /** Gauge {replica}: 1 while this replica is the elected leader (the only replica of a directory store leads). */
  leader: 'strait_control_plane_leader',
  /** Gauge {store}: 1 while the configuration store takes writes and this replica follows it. */
  storeUp: 'strait_config_store_up',
  /** Gauge: revisions of the store this replica has not seen yet (etcd). */
  storeWatchLag: 'strait_config_store_watch_lag_revisions',
  /** Gauge: the store's revision this replica has seen everything up to (etcd). */
  storeRevision: 'strait_config_store_revision',
  /** Counter: lists of the whole store after the first (a watch that etcd compacted away). */
  storeRelists: 'strait_config_store_relists_total',
} as const;

/** The label value Istio uses where there is nothing to say. */
export const UNKNOWN = 'unknown';
