// The console's traffic numbers from Prometheus (`--prometheus URL`): a handful of instant PromQL queries
// over Istio's and Strait's metric names, summed by the same labels the scrape reader groups by.

import {
  BUCKET_GROUP,
  type CounterSeries,
  EGRESS_ALLOWED_GROUP,
  EGRESS_DENIED_GROUP,
  ENDPOINT_GROUP,
  emptyReading,
  keyOf,
  pick,
  REQUEST_GROUP,
  ReadingMetrics,
  type Series,
  type TrafficReader,
  type TrafficReading,
} from './reading.ts';
import { reasonOf } from './scrape-reader.ts';

export interface PrometheusReaderOptions {
  /** Base URL, e.g. http://127.0.0.1:9090. */
  url: string;
  windowSeconds: number;
  timeoutMs?: number;
}

interface VectorAnswer {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

export class PrometheusReader implements TrafficReader {
  readonly source = 'prometheus';
  readonly windowSeconds: number;
  readonly #o: PrometheusReaderOptions;
  readonly #base: string;

  constructor(options: PrometheusReaderOptions) {
    this.#o = options;
    this.#base = options.url.replace(/\/+$/, '');
    this.windowSeconds = options.windowSeconds;
  }

  describe(): string {
    return `queried from Prometheus at ${this.#base}`;
  }

  /** The PromQL of each part of a reading (exported for tests and for users who want the same numbers). */
  queries(): Record<string, string> {
    const w = `${this.windowSeconds}s`;
    const by = (group: readonly string[]) => group.join(', ');
    return {
      requests: `sum by (${by(REQUEST_GROUP)}) (rate(${ReadingMetrics.requests}[${w}]))`,
      buckets: `sum by (${by(BUCKET_GROUP)}, le) (rate(${ReadingMetrics.buckets}{reporter="source"}[${w}]))`,
      healthyEndpoints: `max by (${by(ENDPOINT_GROUP)}) (${ReadingMetrics.healthyEndpoints})`,
      totalEndpoints: `max by (${by(ENDPOINT_GROUP)}) (${ReadingMetrics.totalEndpoints})`,
      deniedTotal: `sum by (${by(EGRESS_DENIED_GROUP)}) (${ReadingMetrics.egressDenied})`,
      deniedRate: `sum by (${by(EGRESS_DENIED_GROUP)}) (rate(${ReadingMetrics.egressDenied}[${w}]))`,
      allowedTotal: `sum by (${by(EGRESS_ALLOWED_GROUP)}) (${ReadingMetrics.egressAllowed})`,
      allowedRate: `sum by (${by(EGRESS_ALLOWED_GROUP)}) (rate(${ReadingMetrics.egressAllowed}[${w}]))`,
    };
  }

  async read(): Promise<TrafficReading> {
    const q = this.queries();
    let answers: Record<string, Series[]>;
    try {
      const entries = await Promise.all(
        Object.entries(q).map(async ([name, query]) => [name, await this.#query(query)] as const),
      );
      answers = Object.fromEntries(entries);
    } catch (err) {
      return emptyReading([`Prometheus at ${this.#base} did not answer: ${reasonOf(err)}`]);
    }
    const get = (name: string): Series[] => answers[name] ?? [];
    return {
      requests: regroup(get('requests'), REQUEST_GROUP),
      buckets: regroup(get('buckets'), [...BUCKET_GROUP, 'le']),
      healthyEndpoints: regroup(get('healthyEndpoints'), ENDPOINT_GROUP),
      totalEndpoints: regroup(get('totalEndpoints'), ENDPOINT_GROUP),
      egressDenied: counters(get('deniedTotal'), get('deniedRate'), EGRESS_DENIED_GROUP),
      egressAllowed: counters(get('allowedTotal'), get('allowedRate'), EGRESS_ALLOWED_GROUP),
      problems: [],
    };
  }

  async #query(query: string): Promise<Series[]> {
    const res = await fetch(`${this.#base}/api/v1/query?query=${encodeURIComponent(query)}`, {
      signal: AbortSignal.timeout(this.#o.timeoutMs ?? 3000),
    });
    const body = (await res.json()) as VectorAnswer;
    if (body.status !== 'success' || !body.data)
      throw new Error(`query failed (${body.error ?? `HTTP ${res.status}`}): ${query}`);
    return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  }

  close(): void {}
}

/** Fills labels Prometheus left out (an empty label is absent in its answers) with "unknown". */
function regroup(series: Series[], group: readonly string[]): Series[] {
  return series
    .filter((s) => Number.isFinite(s.value))
    .map((s) => ({ labels: pick(s.labels, group), value: s.value }));
}

function counters(totals: Series[], rates: Series[], group: readonly string[]): CounterSeries[] {
  const byKey = new Map<string, CounterSeries>();
  for (const t of regroup(totals, group))
    byKey.set(keyOf(t.labels, group), { labels: t.labels, total: t.value, rate: 0 });
  for (const r of regroup(rates, group)) {
    const c = byKey.get(keyOf(r.labels, group));
    if (c) c.rate = r.value;
  }
  return [...byKey.values()];
}
