// The PromQL expressions of Istio's control-plane ("pilot") Grafana dashboard, restated here so a test can
// ask a real Prometheus whether Strait answers them (Istio's dashboard file itself is not shipped). Each is
// written as Grafana sends it with a 1m rate interval. Those that name Go's runtime, Kubernetes, containers
// or sidecar injection have no Strait counterpart; every other one must return data once the demo mesh has
// served traffic and taken one configuration change.

export interface IstioPilotQuery {
  /** The dashboard panel the expression belongs to. */
  panel: string;
  expr: string;
  /** Why Strait has nothing to answer with, when it has not. */
  outOfScope?: 'Go runtime' | 'Kubernetes' | 'containers' | 'sidecar injection';
}

export const IstioPilotQueries: readonly IstioPilotQuery[] = [
  { panel: 'Pilot Versions', expr: 'sum by (tag) (istio_build{component="pilot"})' },
  {
    panel: 'Memory Usage',
    expr: 'sum by (pod) (container_memory_working_set_bytes{container="discovery",pod=~"istiod-.*"})',
    outOfScope: 'containers',
  },
  {
    panel: 'Memory Usage',
    expr: 'sum by (pod) (go_memstats_stack_inuse_bytes{app="istiod"})',
    outOfScope: 'Go runtime',
  },
  {
    panel: 'Memory Usage',
    expr: 'sum by (pod) (go_memstats_heap_inuse_bytes{app="istiod"})',
    outOfScope: 'Go runtime',
  },
  {
    panel: 'Memory Usage',
    expr: 'sum by (pod) (go_memstats_heap_alloc_bytes{app="istiod"})',
    outOfScope: 'Go runtime',
  },
  {
    panel: 'Memory Allocations',
    expr: 'sum by (pod) (rate(go_memstats_alloc_bytes_total{app="istiod"}[1m]))',
    outOfScope: 'Go runtime',
  },
  {
    panel: 'Memory Allocations',
    expr: 'sum by (pod) (rate(go_memstats_mallocs_total{app="istiod"}[1m]))',
    outOfScope: 'Go runtime',
  },
  {
    panel: 'CPU Usage',
    expr: 'sum by (pod) (irate(container_cpu_usage_seconds_total{container="discovery",pod=~"istiod-.*"}[1m]))',
    outOfScope: 'containers',
  },
  { panel: 'Goroutines', expr: 'sum by (pod) (go_goroutines{app="istiod"})', outOfScope: 'Go runtime' },
  { panel: 'XDS Pushes', expr: 'sum by (type) (irate(pilot_xds_pushes[1m]))' },
  {
    panel: 'Events',
    expr: 'sum by (type,event) (rate(pilot_k8s_reg_events[1m]))',
    outOfScope: 'Kubernetes',
  },
  {
    panel: 'Events',
    expr: 'sum by (type,event) (rate(pilot_k8s_cfg_events[1m]))',
    outOfScope: 'Kubernetes',
  },
  { panel: 'Events', expr: 'sum by (type) (rate(pilot_push_triggers[1m]))' },
  { panel: 'Connections', expr: 'sum(envoy_cluster_upstream_cx_active{cluster_name="xds-grpc"})' },
  { panel: 'Connections', expr: 'sum(pilot_xds)' },
  { panel: 'Push Errors', expr: 'sum by (type) (pilot_total_xds_rejects)' },
  { panel: 'Push Errors', expr: 'pilot_total_xds_internal_errors' },
  { panel: 'Push Time', expr: 'sum(rate(pilot_xds_push_time_bucket{}[1m])) by (le)' },
  { panel: 'Push Size', expr: 'sum(rate(pilot_xds_config_size_bytes_bucket{}[1m])) by (le)' },
  { panel: 'Validation', expr: 'sum(rate(galley_validation_passed[1m]))' },
  { panel: 'Validation', expr: 'sum(rate(galley_validation_failed[1m]))' },
  {
    panel: 'Injection',
    expr: 'sum(rate(sidecar_injection_success_total[1m]))',
    outOfScope: 'sidecar injection',
  },
  {
    panel: 'Injection',
    expr: 'sum(rate(sidecar_injection_failure_total[1m]))',
    outOfScope: 'sidecar injection',
  },
];
