// The shipped Grafana dashboards, built on Istio's metric names (so Istio users' queries carry over)
// and Strait's own proxy and control-plane metrics. `write.ts` renders them into docker/grafana/dashboards.
import { ControlPlaneMetrics, DiscoveryClusterMetrics, ProxyMetrics } from '@strait/api';
import { type DashboardSpec, dashboardJson } from './grafana.ts';
import { latencyQueries, percent, quantile, R, rps, successRate } from './promql.ts';
import { ServiceDetail } from './service.ts';

const CP = ControlPlaneMetrics;

export const MeshOverview: DashboardSpec = {
  uid: 'strait-mesh-overview',
  title: 'Strait · Mesh overview',
  description: 'Requests, success rate and latency across the mesh, and each hop ingress → A → B → egress.',
  rows: [
    {
      title: 'Mesh',
      panels: [
        {
          title: 'Requests per second (ingress)',
          kind: 'stat',
          unit: 'reqps',
          width: 6,
          queries: [
            { expr: rps('reporter="source", source_workload="istio-ingressgateway"'), legend: 'rps' },
          ],
        },
        {
          title: 'Success rate (ingress, non-5xx)',
          kind: 'stat',
          width: 6,
          ...percent,
          thresholds: {
            base: 'red',
            steps: [
              [0.95, 'orange'],
              [0.99, 'green'],
            ],
          },
          queries: [
            {
              expr: successRate('reporter="source", source_workload="istio-ingressgateway"'),
              legend: 'success',
            },
          ],
        },
        {
          title: '5xx per second (all hops)',
          kind: 'stat',
          unit: 'reqps',
          width: 6,
          thresholds: { base: 'green', steps: [[0.01, 'red']] },
          queries: [
            { expr: `${rps('reporter="source", response_code=~"5.."')} or vector(0)`, legend: '5xx' },
          ],
        },
        {
          title: 'Connected proxies',
          kind: 'stat',
          width: 6,
          queries: [{ expr: `sum(${ControlPlaneMetrics.xdsConnected})`, legend: 'proxies' }],
        },
      ],
    },
    {
      title: 'Services (reported by the destination sidecar)',
      panels: [
        {
          title: 'Requests per second by service',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: rps('reporter="destination"', 'destination_service_name'),
              legend: '{{destination_service_name}}',
            },
          ],
        },
        {
          title: 'Success rate by service',
          kind: 'timeseries',
          ...percent,
          queries: [
            {
              expr: successRate('reporter="destination"', 'destination_service_name'),
              legend: '{{destination_service_name}}',
            },
          ],
        },
        {
          title: 'Latency by service (p50 / p90 / p99)',
          kind: 'timeseries',
          unit: 'ms',
          width: 24,
          queries: latencyQueries(
            'reporter="destination"',
            'destination_service_name',
            '{{destination_service_name}}',
          ),
        },
        {
          title: 'Requests per second by service version',
          kind: 'timeseries',
          unit: 'reqps',
          width: 24,
          description: 'The split between versions (service-b v1 / v2: 90/10, or 50/50 after canary.yaml).',
          queries: [
            {
              expr: rps('reporter="destination"', 'destination_service_name, destination_version'),
              legend: '{{destination_service_name}} {{destination_version}}',
            },
          ],
        },
        {
          title: 'Requests per second over mutual TLS, by caller identity',
          kind: 'timeseries',
          unit: 'reqps',
          width: 24,
          description:
            'As the destination saw them: the caller’s SPIFFE ID from its certificate (Istio’s source_principal).',
          queries: [
            {
              expr: rps(
                'reporter="destination", connection_security_policy="mutual_tls"',
                'source_principal, destination_service_name',
              ),
              legend: '{{source_principal}} → {{destination_service_name}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Hop by hop: ingress → service-a → service-b → egress → external (reported by the caller)',
      panels: [
        {
          title: 'Requests per second per hop',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: rps('reporter="source"', 'source_workload, destination_service_name'),
              legend: '{{source_workload}} → {{destination_service_name}}',
            },
          ],
        },
        {
          title: 'Success rate per hop',
          kind: 'timeseries',
          ...percent,
          queries: [
            {
              expr: successRate('reporter="source"', 'source_workload, destination_service_name'),
              legend: '{{source_workload}} → {{destination_service_name}}',
            },
          ],
        },
        {
          title: 'p99 latency per hop',
          kind: 'timeseries',
          unit: 'ms',
          queries: [
            {
              expr: quantile(0.99, 'reporter="source"', 'source_workload, destination_service_name'),
              legend: '{{source_workload}} → {{destination_service_name}}',
            },
          ],
        },
        {
          title: 'p50 latency per hop',
          kind: 'timeseries',
          unit: 'ms',
          queries: [
            {
              expr: quantile(0.5, 'reporter="source"', 'source_workload, destination_service_name'),
              legend: '{{source_workload}} → {{destination_service_name}}',
            },
          ],
        },
      ],
    },
  ],
};

export const Egress: DashboardSpec = {
  uid: 'strait-egress',
  title: 'Strait · Egress',
  description:
    'What leaves the mesh: allowed and denied by host (REGISTRY_ONLY: only ServiceEntry hosts pass).',
  rows: [
    {
      title: 'Allow-list',
      panels: [
        {
          title: 'Allowed per second by host',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            { expr: `sum by (host) (rate(${ProxyMetrics.egressAllowedTotal}[${R}]))`, legend: '{{host}}' },
          ],
        },
        {
          title: 'Denied per second by host',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            { expr: `sum by (host) (rate(${ProxyMetrics.egressDeniedTotal}[${R}]))`, legend: '{{host}}' },
          ],
        },
        {
          title: 'Denied by host and reason (total)',
          kind: 'timeseries',
          queries: [
            {
              expr: `sum by (host, reason) (${ProxyMetrics.egressDeniedTotal})`,
              legend: '{{host}}: {{reason}}',
            },
          ],
        },
        {
          title: 'Denied by proxy (total)',
          kind: 'timeseries',
          queries: [
            { expr: `sum by (proxy_id) (${ProxyMetrics.egressDeniedTotal})`, legend: '{{proxy_id}}' },
          ],
        },
      ],
    },
    {
      title: 'Through the egress gateway',
      panels: [
        {
          title: 'Egress gateway requests per second by host and code',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: rps(
                'reporter="source", source_workload="istio-egressgateway"',
                'destination_service_name, response_code',
              ),
              legend: '{{destination_service_name}} {{response_code}}',
            },
          ],
        },
        {
          title: 'Egress gateway latency to external hosts',
          kind: 'timeseries',
          unit: 'ms',
          queries: latencyQueries(
            'reporter="source", source_workload="istio-egressgateway"',
            'destination_service_name',
            '{{destination_service_name}}',
          ),
        },
      ],
    },
  ],
};

export const ControlPlaneDashboard: DashboardSpec = {
  uid: 'strait-control-plane',
  title: 'Strait · Control plane',
  description: "The control plane (istiod's metric names) and the proxies' view of their configuration.",
  rows: [
    {
      title: 'Discovery',
      panels: [
        {
          title: 'Connected proxies',
          kind: 'stat',
          width: 6,
          queries: [{ expr: `sum(${ControlPlaneMetrics.xdsConnected})`, legend: 'proxies' }],
        },
        {
          title: 'Rejected configs (NACKs, total)',
          kind: 'stat',
          width: 6,
          thresholds: { base: 'green', steps: [[1, 'red']] },
          queries: [{ expr: `sum(${ControlPlaneMetrics.xdsRejects})`, legend: 'rejects' }],
        },
        {
          title: 'Refused config changes (validation, total)',
          kind: 'stat',
          width: 6,
          thresholds: { base: 'green', steps: [[1, 'orange']] },
          queries: [
            { expr: `sum(${ControlPlaneMetrics.configValidationFailures}) or vector(0)`, legend: 'refused' },
          ],
        },
        {
          title: 'Stale proxies',
          kind: 'stat',
          width: 6,
          thresholds: { base: 'green', steps: [[1, 'red']] },
          description: 'Proxies serving their last good config while cut off from the control plane.',
          queries: [{ expr: `sum(${ProxyMetrics.configStale})`, legend: 'stale' }],
        },
        {
          title: 'Pushes per second by type',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            { expr: `sum by (type) (rate(${ControlPlaneMetrics.xdsPushes}[${R}]))`, legend: '{{type}}' },
          ],
        },
        {
          title: 'Proxy convergence time (change → ACK)',
          kind: 'timeseries',
          unit: 's',
          queries: [0.5, 0.9, 0.99].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (le) (rate(${ControlPlaneMetrics.convergenceTime}_bucket[5m])))`,
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'Resources served by kind',
          kind: 'timeseries',
          queries: [{ expr: `sum by (kind) (${ControlPlaneMetrics.resources})`, legend: '{{kind}}' }],
        },
        {
          title: 'Config applies and NACKs per proxy (total)',
          kind: 'timeseries',
          queries: [
            {
              expr: `sum by (proxy_id) (${ProxyMetrics.configAppliesTotal})`,
              legend: '{{proxy_id}} applied',
            },
            { expr: `sum by (proxy_id) (${ProxyMetrics.configNacksTotal})`, legend: '{{proxy_id}} NACKed' },
          ],
        },
      ],
    },
    {
      title: 'Replicas and their store',
      panels: [
        {
          title: 'Replicas reporting',
          kind: 'stat',
          width: 6,
          queries: [{ expr: `count(${CP.replicaInfo})`, legend: 'replicas' }],
        },
        {
          title: 'Replicas whose store takes writes',
          kind: 'stat',
          width: 6,
          description:
            'A replica counts while its store (a config directory, or etcd with a quorum) takes writes and it follows the store’s changes.',
          thresholds: { base: 'red', steps: [[1, 'green']] },
          queries: [{ expr: `sum(${CP.storeUp})`, legend: 'up' }],
        },
        {
          title: 'Leader',
          kind: 'stat',
          width: 6,
          description:
            'The elected replica (it compacts etcd’s history); every replica serves proxies and the API.',
          queries: [{ expr: `max by (replica) (${CP.leader}) == 1`, legend: '{{replica}}' }],
        },
        {
          title: 'Relists of the store (total)',
          kind: 'stat',
          width: 6,
          description:
            'Whole lists of etcd after a watch fell behind a compaction, as Kubernetes’ informers do.',
          queries: [{ expr: `sum(${CP.storeRelists}) or vector(0)`, legend: 'relists' }],
        },
        {
          title: 'Connected proxies by replica',
          kind: 'timeseries',
          queries: [
            {
              expr: `sum by (replica) (${CP.xdsConnected} * on (instance) group_left (replica) ${CP.replicaInfo})`,
              legend: '{{replica}}',
            },
          ],
        },
        {
          title: 'Watch lag (revisions behind etcd) and revision seen',
          kind: 'timeseries',
          queries: [
            {
              expr: `max by (replica) (${CP.storeWatchLag} * on (instance) group_left (replica) ${CP.replicaInfo})`,
              legend: '{{replica}} lag',
            },
            {
              expr: `max by (replica) (${CP.storeRevision} * on (instance) group_left (replica) ${CP.replicaInfo})`,
              legend: '{{replica}} revision',
            },
          ],
        },
      ],
    },
    {
      title: 'Push path',
      panels: [
        {
          title: 'Updates received per second, and answers to superseded pushes',
          kind: 'timeseries',
          unit: 'ops',
          description:
            'config: configuration changes; eds: registry changes. Expired nonces: ACKs or NACKs that came late.',
          queries: [
            { expr: `sum by (type) (rate(${CP.inboundUpdates}[${R}]))`, legend: '{{type}}' },
            { expr: `sum(rate(${CP.xdsExpiredNonce}[${R}])) or vector(0)`, legend: 'expired nonces' },
          ],
        },
        {
          title: 'Push triggers per second by reason',
          kind: 'timeseries',
          unit: 'ops',
          description:
            'config: a configuration change; endpoint: the registry changed; proxy: a stream opened.',
          queries: [{ expr: `sum by (type) (rate(${CP.pushTriggers}[${R}]))`, legend: '{{type}}' }],
        },
        {
          title: 'Push time p99 by type (turn in the push window → kernel)',
          kind: 'timeseries',
          unit: 's',
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (le, type) (rate(${CP.xdsPushTime}_bucket[5m])))`,
              legend: '{{type}}',
            },
          ],
        },
        {
          title: 'Push size p50 / p99 (bytes per proxy and type)',
          kind: 'timeseries',
          unit: 'bytes',
          queries: [0.5, 0.99].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (le) (rate(${CP.xdsConfigSize}_bucket[5m])))`,
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'Send, queue and debounce times, p99',
          kind: 'timeseries',
          unit: 's',
          queries: [
            [CP.xdsSendTime, 'send'],
            [CP.proxyQueueTime, 'queue'],
            [CP.debounceTime, 'debounce'],
            [CP.pushContextInitTime, 'index'],
          ].map(([metric, legend]) => ({
            expr: `histogram_quantile(0.99, sum by (le) (rate(${metric}_bucket[5m])))`,
            legend: legend as string,
          })),
        },
        {
          title: 'Rejected resources by type, and control-plane errors (total)',
          kind: 'timeseries',
          queries: [
            { expr: `sum by (type) (${CP.xdsRejects})`, legend: 'rejected {{type}}' },
            { expr: `sum(${CP.xdsInternalErrors})`, legend: 'internal errors' },
            { expr: `sum(${CP.xdsWriteTimeouts})`, legend: 'write timeouts' },
          ],
        },
        {
          title: 'Validation per second (passed / failed by reason)',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            { expr: `sum(rate(${CP.validationPassed}[${R}]))`, legend: 'passed' },
            { expr: `sum by (reason) (rate(${CP.validationFailed}[${R}]))`, legend: 'failed {{reason}}' },
          ],
        },
        {
          title: 'Discovery connections: proxies vs control plane',
          kind: 'timeseries',
          queries: [
            {
              expr: `sum(${DiscoveryClusterMetrics.connectionsActive}{cluster_name="${DiscoveryClusterMetrics.clusterName}"})`,
              legend: 'reported by proxies',
            },
            { expr: `sum(${CP.xdsConnected})`, legend: 'reported by the control plane' },
          ],
        },
        {
          title: 'Mesh CA: certificate requests and issues per second, days until the root expires',
          kind: 'timeseries',
          description:
            'istiod’s Citadel metrics: CSRs received and certificates issued; the root’s remaining life.',
          queries: [
            { expr: `sum(rate(${CP.caCsrCount}[${R}]))`, legend: 'CSRs' },
            { expr: `sum(rate(${CP.caIssued}[${R}]))`, legend: 'issued' },
            { expr: `(min(${CP.caRootExpiry}) - time()) / 86400`, legend: 'root: days left' },
          ],
        },
        {
          title: 'Services and VirtualServices known',
          kind: 'timeseries',
          queries: [
            { expr: `sum(${CP.services})`, legend: 'services' },
            { expr: `sum(${CP.virtualServices})`, legend: 'VirtualServices' },
          ],
        },
      ],
    },
  ],
};

export const Dashboards: DashboardSpec[] = [MeshOverview, ServiceDetail, Egress, ControlPlaneDashboard];

/** File name -> dashboard JSON, as written into docker/grafana/dashboards/. */
export function renderDashboards(): Map<string, Record<string, unknown>> {
  return new Map(Dashboards.map((d) => [`${d.uid}.json`, dashboardJson(d)]));
}
