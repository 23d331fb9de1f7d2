// Tests the merged scrape of a --workers proxy: Strait's hot-path metric cells survive prom-client's
// getMetricsAsJSON()/AggregatorRegistry round trip (over JSON, as over IPC), summed; per-proxy gauges are not.
import { IstioMetrics, ProxyMetrics } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { ProxyTelemetry } from '../telemetry/index.ts';
import { mergeMetrics, PRIMARY_METRICS, workerMetrics } from './metrics.ts';
import { restartDelayMs } from './timing.ts';

/** A worker's registry after some traffic, as the primary receives it (JSON over the IPC channel). */
async function workerAfter(requests: number, durationMs: number): Promise<unknown> {
  const telemetry = new ProxyTelemetry({ version: '0.1.0', defaultMetrics: false });
  const series = telemetry.requestSeries({ reporter: 'source', destination_service_name: 'service-a' });
  for (let i = 0; i < requests; i++) series.record(200, '-', durationMs, 10, 20);
  telemetry.tcpSeries({ reporter: 'source' }).sent(100);
  telemetry.setClusterEndpoints('outbound|80||service-a', 2, 3);
  telemetry.healthCheckResult('outbound|80||service-a', 'success');
  telemetry.configApplied('v7');
  return JSON.parse(JSON.stringify(await workerMetrics(telemetry.registry)));
}

function value(text: string, prefix: string): number {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`no sample starting with ${prefix}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('mergeMetrics', () => {
  it('sums counters and histograms from every worker and counts per-proxy gauges once', async () => {
    const primary = new ProxyTelemetry({ version: '0.1.0', defaultMetrics: false });
    primary.configApplied('v7');
    const text = await mergeMetrics(primary.registry, [
      (await workerAfter(3, 4)) as never,
      (await workerAfter(5, 40)) as never,
    ]);
    expect(value(text, `${IstioMetrics.requestsTotal}{`)).toBe(8);
    expect(value(text, `${IstioMetrics.requestDuration}_count{`)).toBe(8);
    expect(value(text, `${IstioMetrics.requestDuration}_sum{`)).toBe(3 * 4 + 5 * 40);
    // Bucket le=5 holds only the first worker's three 4 ms requests; +Inf holds all eight.
    const buckets = text.split('\n').filter((l) => l.startsWith(`${IstioMetrics.requestDuration}_bucket{`));
    expect(
      Number(
        buckets
          .find((l) => l.includes('le="5"'))
          ?.split(' ')
          .at(-1),
      ),
    ).toBe(3);
    expect(
      Number(
        buckets
          .find((l) => l.includes('le="+Inf"'))
          ?.split(' ')
          .at(-1),
      ),
    ).toBe(8);
    expect(value(text, `${IstioMetrics.tcpSentBytes}{`)).toBe(200);
    expect(value(text, `${ProxyMetrics.healthCheckTotal}{`)).toBe(2);
    // Per proxy: not multiplied by the number of workers (or the primary).
    expect(value(text, `${ProxyMetrics.clusterHealthyEndpoints}{`)).toBe(2);
    expect(value(text, `${ProxyMetrics.clusterEndpoints}{`)).toBe(3);
    expect(value(text, `${IstioMetrics.build}{`)).toBe(1);
    expect(value(text, `${ProxyMetrics.configVersionInfo}{version="v7"}`)).toBe(1);
    expect(value(text, ProxyMetrics.configAppliesTotal)).toBe(1);
    expect(text.match(new RegExp(`^# TYPE ${IstioMetrics.requestsTotal} counter$`, 'gm'))).toHaveLength(1);
  });

  it("leaves the primary's metrics out of what a worker reports", async () => {
    const names = ((await workerAfter(1, 1)) as { name: string }[]).map((m) => m.name);
    for (const name of PRIMARY_METRICS) expect(names).not.toContain(name);
    expect(names).toContain(IstioMetrics.requestsTotal);
  });
});

describe('restartDelayMs', () => {
  it('grows from 100 ms, doubling per crash in a row, capped at 10 s', () => {
    expect([1, 2, 3, 4].map(restartDelayMs)).toEqual([100, 200, 400, 800]);
    expect(restartDelayMs(0)).toBe(100);
    expect(restartDelayMs(50)).toBe(10_000);
  });
});
