// The service-and-workload dashboard: who calls a service and how it answers, whom a workload calls, its
// endpoints' health, and Istio's inbound panels split by mutual TLS (mutual-tls.ts).
import { ProxyMetrics } from '@strait/api';
import type { DashboardSpec } from './grafana.ts';
import { mutualTlsRows } from './mutual-tls.ts';
import { latencyQueries, percent, quantile, R, REQ, rps, successRate } from './promql.ts';

const IN = 'reporter="destination", destination_service_name="$service"';
const OUT = 'reporter="source", source_workload="$workload"';

export const ServiceDetail: DashboardSpec = {
  uid: 'strait-service',
  title: 'Strait · Service and workload',
  description: 'One service: who calls it and how it answers; one workload: whom it calls and how that goes.',
  variables: [
    {
      name: 'service',
      label: 'Service',
      query: `label_values(${REQ}{reporter="destination"}, destination_service_name)`,
      current: 'service-b',
    },
    {
      name: 'workload',
      label: 'Workload',
      query: `label_values(${REQ}{reporter="destination", destination_service_name="$service"}, destination_workload)`,
      current: 'service-b-v1',
    },
  ],
  rows: [
    {
      title: 'Inbound: requests to $service',
      panels: [
        {
          title: 'Inbound requests per second by caller',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [{ expr: rps(IN, 'source_workload'), legend: '{{source_workload}}' }],
        },
        {
          title: 'Inbound success rate by workload',
          kind: 'timeseries',
          ...percent,
          queries: [{ expr: successRate(IN, 'destination_workload'), legend: '{{destination_workload}}' }],
        },
        {
          title: 'Inbound by response code',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [{ expr: rps(IN, 'response_code'), legend: '{{response_code}}' }],
        },
        {
          title: 'Inbound by response flags',
          kind: 'timeseries',
          unit: 'reqps',
          description:
            'Envoy response flags: "-" is none; UF connect failure, UH no healthy upstream, UT timeout, …',
          queries: [{ expr: rps(IN, 'response_flags'), legend: '{{response_flags}}' }],
        },
        {
          title: 'Inbound latency by workload',
          kind: 'timeseries',
          unit: 'ms',
          width: 24,
          queries: latencyQueries(IN, 'destination_workload', '{{destination_workload}}'),
        },
      ],
    },
    ...mutualTlsRows(IN, 'reporter="destination", destination_workload="$workload"'),
    {
      title: 'Outbound: requests from $workload',
      panels: [
        {
          title: 'Outbound requests per second by destination',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: rps(OUT, 'destination_service_name, destination_version'),
              legend: '{{destination_service_name}} {{destination_version}}',
            },
          ],
        },
        {
          title: 'Outbound success rate by destination',
          kind: 'timeseries',
          ...percent,
          queries: [
            { expr: successRate(OUT, 'destination_service_name'), legend: '{{destination_service_name}}' },
          ],
        },
        {
          title: 'Outbound by response code and flags',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: rps(OUT, 'destination_service_name, response_code, response_flags'),
              legend: '{{destination_service_name}} {{response_code}} {{response_flags}}',
            },
          ],
        },
        {
          title: 'Outbound p99 latency by destination',
          kind: 'timeseries',
          unit: 'ms',
          queries: [
            {
              expr: quantile(0.99, OUT, 'destination_service_name'),
              legend: '{{destination_service_name}} p99',
            },
          ],
        },
      ],
    },
    {
      title: 'Endpoints and health (as each proxy sees its clusters)',
      panels: [
        {
          title: 'Healthy endpoints per cluster',
          kind: 'timeseries',
          queries: [
            {
              expr: `min by (cluster) (${ProxyMetrics.clusterHealthyEndpoints}{cluster=~"outbound\\\\|.*"})`,
              legend: '{{cluster}}',
            },
          ],
        },
        {
          title: 'Active health checks per second by result',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (cluster, result) (rate(${ProxyMetrics.healthCheckTotal}[${R}]))`,
              legend: '{{cluster}} {{result}}',
            },
          ],
        },
        {
          title: 'Outlier ejections (last hour)',
          kind: 'timeseries',
          width: 24,
          queries: [
            {
              expr: `sum by (cluster) (increase(${ProxyMetrics.outlierEjectionsTotal}[1h])) or vector(0)`,
              legend: '{{cluster}}',
            },
          ],
        },
      ],
    },
  ],
};
