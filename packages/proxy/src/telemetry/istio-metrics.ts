// Istio's standard traffic metrics on the proxy's hot path: the request and TCP counters and histograms as
// cells (prom-client reads them only when scraped), and series looked up once per label set and reused.
import {
  DurationBucketsMs,
  IstioMetrics,
  IstioRequestLabels,
  IstioTcpLabels,
  SizeBuckets,
} from '@strait/api';
import type { Registry } from 'prom-client';
import { CellCounter, CellHistogram, type CounterCell, type HistogramCell } from './cells.ts';
import {
  completeRequestLabels,
  completeTcpLabels,
  type RequestSeriesLabels,
  type TcpSeriesLabels,
} from './labels.ts';

interface RequestChildren {
  requests: CounterCell;
  duration: HistogramCell;
  requestBytes: HistogramCell;
  responseBytes: HistogramCell;
}

const CODE_INDEX = IstioRequestLabels.indexOf('response_code');
const FLAGS_INDEX = IstioRequestLabels.indexOf('response_flags');
/** Distinct (code, flags) pairs one series caches; beyond it lookups still work, just uncached. */
const MAX_OUTCOMES_PER_SERIES = 512;

/** One request series: fixed labels, with prom-client children cached per (code, flags). */
export class RequestSeries {
  readonly labels: Readonly<RequestSeriesLabels>;
  readonly #metrics: IstioTrafficMetrics;
  readonly #values: string[];
  readonly #byCode = new Map<number, Map<string, RequestChildren>>();
  #outcomes = 0;
  #lastCode = -1;
  #lastFlags = '';
  #last: RequestChildren | undefined;

  constructor(metrics: IstioTrafficMetrics, labels: RequestSeriesLabels) {
    this.#metrics = metrics;
    this.labels = Object.freeze({ ...labels });
    // The label values in Istio's order, with slots for the two outcome labels.
    this.#values = IstioRequestLabels.map((name) =>
      name === 'response_code' || name === 'response_flags' ? '' : labels[name],
    );
  }

  /** Records one finished request. `flags` is Envoy's response flags ("-" for none). */
  record(code: number, flags: string, durationMs: number, requestBytes: number, responseBytes: number): void {
    const children = this.#children(code, flags);
    children.requests.inc();
    children.duration.observe(durationMs);
    children.requestBytes.observe(requestBytes);
    children.responseBytes.observe(responseBytes);
  }

  #children(code: number, flags: string): RequestChildren {
    if (code === this.#lastCode && flags === this.#lastFlags && this.#last) return this.#last;
    let byFlags = this.#byCode.get(code);
    let children = byFlags?.get(flags);
    if (!children) {
      const values = this.#values.slice();
      values[CODE_INDEX] = String(code);
      values[FLAGS_INDEX] = flags;
      children = this.#metrics.requestChildren(values);
      if (this.#outcomes < MAX_OUTCOMES_PER_SERIES) {
        this.#outcomes += 1;
        if (!byFlags) {
          byFlags = new Map();
          this.#byCode.set(code, byFlags);
        }
        byFlags.set(flags, children);
      }
    }
    this.#lastCode = code;
    this.#lastFlags = flags;
    this.#last = children;
    return children;
  }
}

/** One TCP series (a CONNECT tunnel or upgraded connection's labels), children resolved up front. */
export class TcpSeries {
  readonly labels: Readonly<TcpSeriesLabels>;
  readonly #opened: CounterCell;
  readonly #closed: CounterCell;
  readonly #sent: CounterCell;
  readonly #received: CounterCell;

  constructor(metrics: IstioTrafficMetrics, labels: TcpSeriesLabels) {
    this.labels = Object.freeze({ ...labels });
    const values = IstioTcpLabels.map((name) => labels[name]);
    const children = metrics.tcpChildren(values);
    this.#opened = children.opened;
    this.#closed = children.closed;
    this.#sent = children.sent;
    this.#received = children.received;
  }

  opened(): void {
    this.#opened.inc();
  }
  closed(): void {
    this.#closed.inc();
  }
  /** Bytes sent to the downstream client (Istio: sent by the destination side of the connection). */
  sent(bytes: number): void {
    if (bytes > 0) this.#sent.inc(bytes);
  }
  /** Bytes received from the downstream client. */
  received(bytes: number): void {
    if (bytes > 0) this.#received.inc(bytes);
  }
}

/** A Map that forgets its oldest entry when full. Evicting only costs a re-lookup later. */
class BoundedCache<V> {
  readonly #max: number;
  readonly #map = new Map<string, V>();
  constructor(max: number) {
    this.#max = max;
  }
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): void {
    if (this.#map.size >= this.#max) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
    this.#map.set(key, value);
  }
  get size(): number {
    return this.#map.size;
  }
}

const KEY_SEPARATOR = '\u0001';

/** The eight Istio traffic metrics of one registry, and the series caches in front of them. */
export class IstioTrafficMetrics {
  readonly #requests: CellCounter;
  readonly #duration: CellHistogram;
  readonly #requestBytes: CellHistogram;
  readonly #responseBytes: CellHistogram;
  readonly #tcpSent: CellCounter;
  readonly #tcpReceived: CellCounter;
  readonly #tcpOpened: CellCounter;
  readonly #tcpClosed: CellCounter;
  readonly #requestSeries: BoundedCache<RequestSeries>;
  readonly #tcpSeries: BoundedCache<TcpSeries>;

  constructor(registry: Registry, maxSeries: number) {
    const requestLabels = [...IstioRequestLabels];
    const tcpLabels = [...IstioTcpLabels];
    this.#requests = new CellCounter({
      name: IstioMetrics.requestsTotal,
      help: 'Requests handled by this proxy (Istio standard metric).',
      labelNames: requestLabels,
    });
    this.#duration = new CellHistogram({
      name: IstioMetrics.requestDuration,
      help: 'Request duration in milliseconds, from first byte received to last byte sent (Istio standard metric).',
      labelNames: requestLabels,
      buckets: DurationBucketsMs,
    });
    this.#requestBytes = new CellHistogram({
      name: IstioMetrics.requestBytes,
      help: 'Request body size in bytes (Istio standard metric).',
      labelNames: requestLabels,
      buckets: SizeBuckets,
    });
    this.#responseBytes = new CellHistogram({
      name: IstioMetrics.responseBytes,
      help: 'Response body size in bytes (Istio standard metric).',
      labelNames: requestLabels,
      buckets: SizeBuckets,
    });
    this.#tcpSent = new CellCounter({
      name: IstioMetrics.tcpSentBytes,
      help: 'Bytes sent to the downstream side of TCP connections and tunnels (Istio standard metric).',
      labelNames: tcpLabels,
    });
    this.#tcpReceived = new CellCounter({
      name: IstioMetrics.tcpReceivedBytes,
      help: 'Bytes received from the downstream side of TCP connections and tunnels (Istio standard metric).',
      labelNames: tcpLabels,
    });
    this.#tcpOpened = new CellCounter({
      name: IstioMetrics.tcpConnectionsOpened,
      help: 'TCP connections and tunnels opened (Istio standard metric).',
      labelNames: tcpLabels,
    });
    this.#tcpClosed = new CellCounter({
      name: IstioMetrics.tcpConnectionsClosed,
      help: 'TCP connections and tunnels closed (Istio standard metric).',
      labelNames: tcpLabels,
    });
    // The hot-path metrics keep their own cells; the registry only reads them when scraped.
    for (const metric of [
      this.#requests,
      this.#duration,
      this.#requestBytes,
      this.#responseBytes,
      this.#tcpSent,
      this.#tcpReceived,
      this.#tcpOpened,
      this.#tcpClosed,
    ])
      registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
    this.#requestSeries = new BoundedCache(maxSeries);
    this.#tcpSeries = new BoundedCache(maxSeries);
  }

  /**
   * The series for a (route, cluster, peer) combination; missing labels become "unknown". Cached by the
   * label values, so calling it per request costs one key join and one Map lookup.
   */
  requestSeries(labels: Partial<RequestSeriesLabels>): RequestSeries {
    const complete = completeRequestLabels(labels);
    const key = Object.values(complete).join(KEY_SEPARATOR);
    return this.requestSeriesByKey(key, () => complete);
  }

  /**
   * Like requestSeries, for callers with a cheaper key of their own (e.g. `${routeId}|${clusterName}|${peer}`):
   * `build` runs only on a cache miss. The key must determine the labels; keys share requestSeries's cache.
   */
  requestSeriesByKey(key: string, build: () => Partial<RequestSeriesLabels>): RequestSeries {
    let series = this.#requestSeries.get(key);
    if (!series) {
      series = new RequestSeries(this, completeRequestLabels(build()));
      this.#requestSeries.set(key, series);
    }
    return series;
  }

  /** The TCP series for a label set; accepts a request label set too (extra labels are ignored). */
  tcpSeries(labels: Partial<TcpSeriesLabels>): TcpSeries {
    const complete = completeTcpLabels(labels);
    const key = Object.values(complete).join(KEY_SEPARATOR);
    let series = this.#tcpSeries.get(key);
    if (!series) {
      series = new TcpSeries(this, complete);
      this.#tcpSeries.set(key, series);
    }
    return series;
  }

  /** @internal Resolves the four request children for positional label values (used by RequestSeries). */
  requestChildren(values: string[]): RequestChildren {
    return {
      requests: this.#requests.cell(values),
      duration: this.#duration.cell(values),
      requestBytes: this.#requestBytes.cell(values),
      responseBytes: this.#responseBytes.cell(values),
    };
  }

  /** @internal Resolves the four TCP children for positional label values (used by TcpSeries). */
  tcpChildren(values: string[]): {
    opened: CounterCell;
    closed: CounterCell;
    sent: CounterCell;
    received: CounterCell;
  } {
    return {
      opened: this.#tcpOpened.cell(values),
      closed: this.#tcpClosed.cell(values),
      sent: this.#tcpSent.cell(values),
      received: this.#tcpReceived.cell(values),
    };
  }

  /** How many series the lookup caches hold (for tests and the admin page). */
  get cachedSeries(): { request: number; tcp: number } {
    return { request: this.#requestSeries.size, tcp: this.#tcpSeries.size };
  }
}
