// The console's traffic numbers without Prometheus: the control plane reads every connected proxy's
// /stats/prometheus itself (it knows their addresses from discovery), keeps each proxy's readings for
// the rate window, and turns counter increases into rates the way Prometheus's rate() does.
import type { NodeInfo } from '@strait/api';
import { statsTargetOf } from '../telemetry/monitoring.ts';
import { parseExposition } from './exposition.ts';
import {
  BUCKET_GROUP,
  type CounterSeries,
  EGRESS_ALLOWED_GROUP,
  EGRESS_DENIED_GROUP,
  ENDPOINT_GROUP,
  keyOf,
  pick,
  REQUEST_GROUP,
  ReadingMetrics,
  type Series,
  type TrafficReader,
  type TrafficReading,
} from './reading.ts';

export interface ScrapeReaderOptions {
  /** The proxies to read: the connected ones. */
  targets: () => NodeInfo[];
  windowSeconds: number;
  /** Per proxy; a slow one is reported, not waited for. Default 1500 ms. */
  timeoutMs?: number;
  now?: () => number;
}

type CounterFamily = 'requests' | 'buckets' | 'egressDenied' | 'egressAllowed';
const COUNTER_FAMILIES: readonly CounterFamily[] = ['requests', 'buckets', 'egressDenied', 'egressAllowed'];
const GROUPS: Record<CounterFamily, readonly string[]> = {
  requests: REQUEST_GROUP,
  buckets: [...BUCKET_GROUP, 'le'],
  egressDenied: EGRESS_DENIED_GROUP,
  egressAllowed: EGRESS_ALLOWED_GROUP,
};

/** One proxy's stats at one moment, reduced to the series the console uses. */
interface Scrape {
  at: number;
  counters: Record<CounterFamily, Map<string, Series>>;
  healthy: Series[];
  total: Series[];
}

export class ScrapeReader implements TrafficReader {
  readonly source = 'proxies';
  readonly windowSeconds: number;
  readonly #o: ScrapeReaderOptions;
  readonly #history = new Map<string, Scrape[]>();
  #lastCount = 0;

  constructor(options: ScrapeReaderOptions) {
    this.#o = options;
    this.windowSeconds = options.windowSeconds;
  }

  describe(): string {
    return `read by the control plane from ${this.#lastCount} ${this.#lastCount === 1 ? "proxy's" : "proxies'"} /stats/prometheus (no Prometheus given)`;
  }

  async read(): Promise<TrafficReading> {
    const now = this.#o.now ?? Date.now;
    const nodes = this.#o.targets();
    this.#lastCount = nodes.length;
    const problems: string[] = [];
    await Promise.all(
      nodes.map(async (node) => {
        const target = statsTargetOf(node);
        try {
          const res = await fetch(`http://${target}/stats/prometheus`, {
            signal: AbortSignal.timeout(this.#o.timeoutMs ?? 1500),
          });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          const scrape = reduce(await res.text(), node, now());
          const history = this.#history.get(node.id) ?? [];
          history.push(scrape);
          this.#history.set(node.id, history);
        } catch (err) {
          problems.push(`${node.id}: no answer from http://${target}/stats/prometheus (${reasonOf(err)})`);
        }
      }),
    );
    const ids = new Set(nodes.map((n) => n.id));
    const oldest = now() - this.windowSeconds * 1000;
    for (const [id, history] of this.#history) {
      if (!ids.has(id)) this.#history.delete(id);
      else while (history.length > 1 && (history[0] as Scrape).at < oldest) history.shift();
    }
    return { ...this.#sum(), problems };
  }

  /** Rates over each proxy's history, summed across proxies. */
  #sum(): Omit<TrafficReading, 'problems'> {
    const counters = Object.fromEntries(
      COUNTER_FAMILIES.map((f) => [f, new Map<string, CounterSeries>()]),
    ) as Record<CounterFamily, Map<string, CounterSeries>>;
    const healthy: Series[] = [];
    const total: Series[] = [];
    for (const history of this.#history.values()) {
      const first = history[0];
      const last = history.at(-1);
      if (!first || !last) continue;
      const seconds = (last.at - first.at) / 1000;
      for (const family of COUNTER_FAMILIES) {
        const sums = counters[family];
        for (const [key, now] of last.counters[family]) {
          const rate = seconds > 0 ? increaseOf(history, family, key) / seconds : 0;
          const sum = sums.get(key);
          if (sum) {
            sum.total += now.value;
            sum.rate += rate;
          } else sums.set(key, { labels: now.labels, total: now.value, rate });
        }
      }
      healthy.push(...last.healthy);
      total.push(...last.total);
    }
    const rates = (family: CounterFamily): Series[] =>
      [...counters[family].values()].map((c) => ({ labels: c.labels, value: c.rate }));
    return {
      requests: rates('requests'),
      buckets: rates('buckets'),
      healthyEndpoints: healthy,
      totalEndpoints: total,
      egressDenied: [...counters.egressDenied.values()],
      egressAllowed: [...counters.egressAllowed.values()],
    };
  }

  close(): void {
    this.#history.clear();
  }
}

/**
 * How much a counter grew over a proxy's history, step by step as Prometheus's rate() does: a counter
 * that went down was reset (the proxy restarted), so all it counts after the reset is new.
 */
function increaseOf(history: readonly Scrape[], family: CounterFamily, key: string): number {
  let increase = 0;
  let before = history[0]?.counters[family].get(key)?.value ?? 0;
  for (const scrape of history.slice(1)) {
    const value = scrape.counters[family].get(key)?.value;
    if (value === undefined) continue;
    increase += value >= before ? value - before : value;
    before = value;
  }
  return increase;
}

/** Keeps only the families the console reads, summed by their grouping labels. */
function reduce(text: string, node: NodeInfo, at: number): Scrape {
  const counters = Object.fromEntries(COUNTER_FAMILIES.map((f) => [f, new Map<string, Series>()])) as Record<
    CounterFamily,
    Map<string, Series>
  >;
  const scrape: Scrape = { at, counters, healthy: [], total: [] };
  const target = { proxy_id: node.id, workload: node.workload };
  const add = (family: CounterFamily, labels: Record<string, string>, value: number) => {
    const group = GROUPS[family];
    const picked = pick({ ...labels, ...target }, group);
    const key = keyOf(picked, group);
    const series = counters[family].get(key);
    if (series) series.value += value;
    else counters[family].set(key, { labels: picked, value });
  };
  for (const sample of parseExposition(text)) {
    switch (sample.name) {
      case ReadingMetrics.requests:
        add('requests', sample.labels, sample.value);
        break;
      case ReadingMetrics.buckets:
        if (sample.labels.reporter === 'source') add('buckets', sample.labels, sample.value);
        break;
      case ReadingMetrics.egressDenied:
        add('egressDenied', sample.labels, sample.value);
        break;
      case ReadingMetrics.egressAllowed:
        add('egressAllowed', sample.labels, sample.value);
        break;
      case ReadingMetrics.healthyEndpoints:
        scrape.healthy.push({
          labels: pick({ ...sample.labels, ...target }, ENDPOINT_GROUP),
          value: sample.value,
        });
        break;
      case ReadingMetrics.totalEndpoints:
        scrape.total.push({
          labels: pick({ ...sample.labels, ...target }, ENDPOINT_GROUP),
          value: sample.value,
        });
        break;
    }
  }
  return scrape;
}

export function reasonOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((err as Error).name === 'TimeoutError') return 'timed out';
  return (err as Error).message ?? String(err);
}
