// Istio's service- and workload-dashboard panels that split inbound traffic by mutual TLS: each query twice,
// once with connection_security_policy="mutual_tls" and once with !="mutual_tls", as Istio's own dashboards
// draw them (the destination sidecar fills the label; the demo runs STRICT, so the plaintext half stays at 0).
import { IstioMetrics } from '@strait/api';
import type { PanelSpec, Query, RowSpec } from './grafana.ts';
import { percent, quantile, rps, successRate } from './promql.ts';

export const MTLS = 'connection_security_policy="mutual_tls"';
export const PLAINTEXT = 'connection_security_policy!="mutual_tls"';

const SOURCE = 'source_workload, source_workload_namespace';
const SOURCE_LEGEND = '{{source_workload}}.{{source_workload_namespace}}';
const DESTINATION = 'destination_workload, destination_workload_namespace';
const DESTINATION_LEGEND = '{{destination_workload}}.{{destination_workload_namespace}}';
const REQUEST_BYTES = `${IstioMetrics.requestBytes}_bucket`;
const RESPONSE_BYTES = `${IstioMetrics.responseBytes}_bucket`;

/** `make(selector)` for mTLS and for plaintext, legends marked the way Istio marks them. */
function bothWays(sel: string, legend: string, make: (s: string) => string): Query[] {
  return [
    { expr: make(`${sel}, ${MTLS}`), legend: `${legend} (🔐mTLS)` },
    { expr: make(`${sel}, ${PLAINTEXT}`), legend },
  ];
}

function quantiles(sel: string, by: string, legend: string, histogram?: string): Query[] {
  return [0.5, 0.9, 0.99].flatMap((q) =>
    bothWays(sel, `${legend} P${q * 100}`, (s) => quantile(q, s, by, histogram)),
  );
}

/** Inbound requests grouped by `by` (the callers, or the serving workloads), as Istio's panels show them. */
function inboundPanels(sel: string, by: string, legend: string, noun: string): PanelSpec[] {
  return [
    {
      title: `Incoming Requests By ${noun} And Response Code`,
      kind: 'timeseries',
      unit: 'reqps',
      queries: bothWays(sel, `${legend} : {{response_code}}`, (s) => rps(s, `${by}, response_code`)),
    },
    {
      title: `Incoming Success Rate (non-5xx responses) By ${noun}`,
      kind: 'timeseries',
      ...percent,
      queries: bothWays(sel, legend, (s) => successRate(s, by)),
    },
    {
      title: `Incoming Request Duration By ${noun}`,
      kind: 'timeseries',
      unit: 'ms',
      queries: quantiles(sel, by, legend),
    },
  ];
}

function sizePanels(sel: string): PanelSpec[] {
  return [
    {
      title: 'Incoming Request Size By Source',
      kind: 'timeseries',
      unit: 'decbytes',
      queries: quantiles(sel, SOURCE, SOURCE_LEGEND, REQUEST_BYTES),
    },
    {
      title: 'Response Size By Source',
      kind: 'timeseries',
      unit: 'decbytes',
      queries: quantiles(sel, SOURCE, SOURCE_LEGEND, RESPONSE_BYTES),
    },
  ];
}

/** The rows: `service` and `workload` are destination selectors (the dashboard's variables). */
export function mutualTlsRows(service: string, workload: string): RowSpec[] {
  return [
    {
      title: 'Client workloads of $service, by mutual TLS (Istio service dashboard)',
      panels: [...inboundPanels(service, SOURCE, SOURCE_LEGEND, 'Source'), ...sizePanels(service)],
    },
    {
      title: 'Service workloads of $service, by mutual TLS (Istio service dashboard)',
      panels: inboundPanels(service, DESTINATION, DESTINATION_LEGEND, 'Destination Workload'),
    },
    {
      title: 'Inbound to $workload, by mutual TLS (Istio workload dashboard)',
      panels: [...inboundPanels(workload, SOURCE, SOURCE_LEGEND, 'Source'), ...sizePanels(workload)],
    },
  ];
}
