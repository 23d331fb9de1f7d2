// PromQL building blocks the shipped dashboards share: request rates, success rates and latency quantiles over
// Istio's standard metrics, with Grafana's $__rate_interval.
import { IstioMetrics } from '@strait/api';
import type { PanelSpec, Query } from './grafana.ts';

export const R = '$__rate_interval';
export const REQ = IstioMetrics.requestsTotal;
const DUR = `${IstioMetrics.requestDuration}_bucket`;

/** Requests per second matching `sel`, grouped by `by`. */
export function rps(sel: string, by?: string): string {
  const inner = `rate(${REQ}{${sel}}[${R}])`;
  return by ? `sum by (${by}) (${inner})` : `sum(${inner})`;
}

/** Share of non-5xx answers among requests matching `sel`. */
export function successRate(sel: string, by?: string): string {
  return `${rps(`${sel}, response_code!~"5.."`, by)} / ${rps(sel, by)}`;
}

/** The `q` quantile of `histogram` (a `_bucket` series; request duration by default) over `sel`, by `by`. */
export function quantile(q: number, sel: string, by: string, histogram = DUR): string {
  return `histogram_quantile(${q}, sum by (le, ${by}) (rate(${histogram}{${sel}}[${R}])))`;
}

export function latencyQueries(sel: string, by: string, legend: string): Query[] {
  return [
    { expr: quantile(0.5, sel, by), legend: `${legend} p50` },
    { expr: quantile(0.9, sel, by), legend: `${legend} p90` },
    { expr: quantile(0.99, sel, by), legend: `${legend} p99` },
  ];
}

export const percent = { unit: 'percentunit', decimals: 2, min: 0, max: 1 } satisfies Partial<PanelSpec>;
