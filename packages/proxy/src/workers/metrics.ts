// One Prometheus scrape for a --workers proxy: the workers' registries merged with prom-client's
// AggregatorRegistry (each metric by its `aggregator`), plus the per-proxy metrics only the primary keeps.
import { IstioMetrics, ProxyMetrics } from '@strait/api';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsJson } from './ipc.ts';

/**
 * Metrics that describe the proxy as a whole and are kept by the primary (it owns discovery and decides
 * what is applied). A worker's copies of them are left out of the merge, so they are never counted N times.
 */
export const PRIMARY_METRICS: ReadonlySet<string> = new Set([
  IstioMetrics.build,
  ProxyMetrics.configVersionInfo,
  ProxyMetrics.configStale,
  ProxyMetrics.configNacksTotal,
  ProxyMetrics.configAppliesTotal,
]);

/** What a worker reports: its registry without the primary's metrics. */
export async function workerMetrics(registry: Registry): Promise<MetricsJson> {
  return (await registry.getMetricsAsJSON()).filter((metric) => !PRIMARY_METRICS.has(metric.name));
}

/**
 * The exposition text for the whole proxy. `primary` is the primary's own registry (its config metrics,
 * build info and process metrics); `workers` are what the workers answered. Request and TCP counters and
 * histograms are summed; per-proxy gauges carry 'first'/'max' aggregators where they are declared.
 */
export async function mergeMetrics(primary: Registry, workers: MetricsJson[]): Promise<string> {
  const own = await primary.getMetricsAsJSON();
  return AggregatorRegistry.aggregate([own, ...workers]).metrics();
}
