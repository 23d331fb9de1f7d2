// Counters and histograms for the per-request hot path. prom-client's label children re-validate and
// re-hash every label on each observe; these keep one cell per label set, found once and then only
// incremented, and hand prom-client's registry the same values shape when it is scraped.

/** One label set's running count. */
export class CounterCell {
  readonly labels: Readonly<Record<string, string>>;
  value = 0;
  constructor(labels: Readonly<Record<string, string>>) {
    this.labels = labels;
  }
  inc(amount = 1): void {
    this.value += amount;
  }
}

/** One label set's histogram: per-bucket counts (not cumulative), sum and count. */
export class HistogramCell {
  readonly labels: Readonly<Record<string, string>>;
  readonly #bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(labels: Readonly<Record<string, string>>, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What prom-client's Registry reads from a metric when it renders the exposition. */
interface CollectedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

function keyOf(values: readonly string[]): string {
  return values.join('\u0001');
}

function labelObject(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  names.forEach((name, i) => {
    labels[name] = values[i] ?? '';
  });
  return Object.freeze(labels);
}

/** A counter whose label sets are cells; register it with `registry.registerMetric`. */
export class CellCounter {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly #labelNames: readonly string[];
  readonly #cells = new Map<string, CounterCell>();

  constructor(opts: { name: string; help: string; labelNames: readonly string[] }) {
    this.name = opts.name;
    this.help = opts.help;
    this.#labelNames = opts.labelNames;
  }

  /** The cell for these label values (positional, in labelNames order); created on first use. */
  cell(values: readonly string[]): CounterCell {
    const key = keyOf(values);
    let cell = this.#cells.get(key);
    if (!cell) {
      cell = new CounterCell(labelObject(this.#labelNames, values));
      this.#cells.set(key, cell);
    }
    return cell;
  }

  get(): CollectedMetric {
    const values: MetricValue[] = [];
    for (const cell of this.#cells.values()) values.push({ value: cell.value, labels: cell.labels });
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }

  reset(): void {
    this.#cells.clear();
  }
}

/** A histogram whose label sets are cells; register it with `registry.registerMetric`. */
export class CellHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #labelNames: readonly string[];
  readonly #bounds: readonly number[];
  readonly #cells = new Map<string, HistogramCell>();

  constructor(opts: {
    name: string;
    help: string;
    labelNames: readonly string[];
    buckets: readonly number[];
  }) {
    this.name = opts.name;
    this.help = opts.help;
    this.#labelNames = opts.labelNames;
    this.#bounds = [...opts.buckets].sort((a, b) => a - b);
  }

  cell(values: readonly string[]): HistogramCell {
    const key = keyOf(values);
    let cell = this.#cells.get(key);
    if (!cell) {
      cell = new HistogramCell(labelObject(this.#labelNames, values), this.#bounds);
      this.#cells.set(key, cell);
    }
    return cell;
  }

  get(): CollectedMetric {
    const values: MetricValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const cell of this.#cells.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += cell.counts[i] as number;
        values.push({ value: cumulative, labels: { ...cell.labels, le: bound }, metricName: bucketName });
      });
      values.push({ value: cell.count, labels: { ...cell.labels, le: '+Inf' }, metricName: bucketName });
      values.push({ value: cell.sum, labels: cell.labels, metricName: `${this.name}_sum` });
      values.push({ value: cell.count, labels: cell.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  reset(): void {
    this.#cells.clear();
  }
}
