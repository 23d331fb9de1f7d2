// The proxy's Prometheus registry: Istio's standard request/TCP metrics with a cached hot-path API, plus
// Strait's proxy health metrics (endpoints, health checks, egress, config state). Declared once, here.
import {
  DurationBucketsMs,
  IstioMetrics,
  IstioRequestLabels,
  IstioTcpLabels,
  ProxyMetrics,
  SizeBuckets,
} from '@strait/api';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { CellCounter, CellHistogram, type CounterCell, type HistogramCell } from './cells.ts';
import { HostLabeler } from './host-label.ts';
import {
  completeRequestLabels,
  completeTcpLabels,
  type RequestSeriesLabels,
  type TcpSeriesLabels,
} from './labels.ts';

export interface ProxyTelemetryOptions {
  /** The proxy's build version, for istio_build{tag}. */
  version: string;
  /** Also export prom-client's nodejs_* and process_* metrics. Default true. */
  defaultMetrics?: boolean;
  /** Most request (and, separately, TCP) series kept in the lookup cache. Default 10 000. */
  maxCachedSeries?: number;
  /** Distinct non-allow-listed hosts the egress metrics may name before using "other". Default 50. */
  maxOtherEgressHosts?: number;
}

/** Results the active health checker reports. */
export type HealthCheckResult = 'success' | 'failure' | 'timeout';

/** Which circuit-breaker limit tripped (Envoy's names). */
export type BreakerName = 'max_connections' | 'max_pending_requests' | 'max_requests' | 'max_retries';

/** The part of the discovery client's status the config metrics follow. */
export interface ConfigStatusLike {
  stale: boolean;
  version: string | undefined;
  lastNack?: { nonce: string; at: number } | undefined;
}

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
  readonly #telemetry: ProxyTelemetry;
  readonly #values: string[];
  readonly #byCode = new Map<number, Map<string, RequestChildren>>();
  #outcomes = 0;
  #lastCode = -1;
  #lastFlags = '';
  #last: RequestChildren | undefined;

  constructor(telemetry: ProxyTelemetry, labels: RequestSeriesLabels) {
    this.#telemetry = telemetry;
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
      children = this.#telemetry.requestChildren(values);
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

  constructor(telemetry: ProxyTelemetry, labels: TcpSeriesLabels) {
    this.labels = Object.freeze({ ...labels });
    const values = IstioTcpLabels.map((name) => labels[name]);
    const children = telemetry.tcpChildren(values);
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

export class ProxyTelemetry {
  readonly registry = new Registry();
  readonly #requests: CellCounter;
  readonly #duration: CellHistogram;
  readonly #requestBytes: CellHistogram;
  readonly #responseBytes: CellHistogram;
  readonly #tcpSent: CellCounter;
  readonly #tcpReceived: CellCounter;
  readonly #tcpOpened: CellCounter;
  readonly #tcpClosed: CellCounter;
  readonly #healthyEndpoints: Gauge<string>;
  readonly #endpoints: Gauge<string>;
  readonly #outlierEjections: Counter<string>;
  readonly #healthChecks: Counter<string>;
  readonly #egressDenied: Counter<string>;
  readonly #egressAllowed: Counter<string>;
  readonly #configVersion: Gauge<string>;
  readonly #configStale: Gauge<string>;
  readonly #configNacks: Counter<string>;
  readonly #configApplies: Counter<string>;
  readonly #rateLimited: Counter<string>;
  readonly #circuitOpen: Counter<string>;
  readonly #connectionsActive: Gauge<string>;
  readonly #connectionsOverflow: Counter<string>;
  /** Reads how many access-log lines were dropped so far (the log counts; the scrape reads). */
  #accessLogDropped: () => number = () => 0;
  readonly #requestSeries: BoundedCache<RequestSeries>;
  readonly #tcpSeries: BoundedCache<TcpSeries>;
  readonly #hosts: HostLabeler;
  readonly #clusters = new Set<string>();
  #currentVersion: string | undefined;
  #lastNack: { nonce: string; at: number } | undefined;

  constructor(opts: ProxyTelemetryOptions) {
    const registers = [this.registry];
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
      this.registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
    const build = new Gauge({
      name: IstioMetrics.build,
      help: 'Build of this Strait component; always 1.',
      labelNames: ['component', 'tag'],
      registers,
      // Per proxy, not per process: merging a --workers proxy's registries must not count it N times.
      aggregator: 'first',
    });
    build.labels('proxy', opts.version).set(1);

    this.#healthyEndpoints = new Gauge({
      name: ProxyMetrics.clusterHealthyEndpoints,
      help: 'Endpoints of a cluster currently taking traffic (healthy and not ejected).',
      labelNames: ['cluster'],
      registers,
      // With --workers each worker checks health on its own; an endpoint counts if any worker uses it.
      aggregator: 'max',
    });
    this.#endpoints = new Gauge({
      name: ProxyMetrics.clusterEndpoints,
      help: 'Endpoints of a cluster in the current config.',
      labelNames: ['cluster'],
      registers,
      aggregator: 'max',
    });
    this.#outlierEjections = new Counter({
      name: ProxyMetrics.outlierEjectionsTotal,
      help: 'Endpoints ejected by outlier detection.',
      labelNames: ['cluster'],
      registers,
    });
    this.#healthChecks = new Counter({
      name: ProxyMetrics.healthCheckTotal,
      help: 'Active health check probes, by result (success, failure, timeout).',
      labelNames: ['cluster', 'result'],
      registers,
    });
    this.#egressDenied = new Counter({
      name: ProxyMetrics.egressDeniedTotal,
      help: 'Requests refused by the egress policy, by reason and host (unlisted hosts beyond a small budget are "other").',
      labelNames: ['reason', 'host'],
      registers,
    });
    this.#egressAllowed = new Counter({
      name: ProxyMetrics.egressAllowedTotal,
      help: 'Requests let out by the egress policy, by host.',
      labelNames: ['host'],
      registers,
    });
    this.#configVersion = new Gauge({
      name: ProxyMetrics.configVersionInfo,
      help: 'The config version this proxy serves; the series with value 1 is the current one.',
      labelNames: ['version'],
      registers,
      aggregator: 'first',
    });
    this.#configStale = new Gauge({
      name: ProxyMetrics.configStale,
      help: '1 while the proxy serves its last good config without a control plane connection, else 0.',
      registers,
      aggregator: 'first',
    });
    this.#configStale.set(0);
    this.#configNacks = new Counter({
      name: ProxyMetrics.configNacksTotal,
      help: 'Snapshots rejected (NACKed) by this proxy.',
      registers,
    });
    this.#configApplies = new Counter({
      name: ProxyMetrics.configAppliesTotal,
      help: 'Config versions applied by this proxy (bootstrap and discovery).',
      registers,
    });
    this.#rateLimited = new Counter({
      name: ProxyMetrics.rateLimitedTotal,
      help: 'Requests refused by a local rate limit, by listener and route ("-" for a listener-wide limit).',
      labelNames: ['listener', 'route'],
      registers,
    });
    this.#circuitOpen = new Counter({
      name: ProxyMetrics.circuitOpenTotal,
      help: 'Requests refused because a circuit breaker limit was reached, by cluster and limit.',
      labelNames: ['cluster', 'breaker'],
      registers,
    });
    this.#connectionsActive = new Gauge({
      name: ProxyMetrics.downstreamConnectionsActive,
      help: 'Open downstream connections, by listener (Envoy: downstream_cx_active).',
      labelNames: ['listener'],
      registers,
    });
    this.#connectionsOverflow = new Counter({
      name: ProxyMetrics.downstreamConnectionsOverflowTotal,
      help: 'Connections refused with 503 because the listener was at its connection limit (Envoy: downstream_cx_overflow).',
      labelNames: ['listener'],
      registers,
    });
    // Read at each scrape: the counter takes what the access log dropped since the last one.
    let droppedSeen = 0;
    const accessLogDropped: Counter = new Counter({
      name: ProxyMetrics.accessLogDroppedTotal,
      help: 'Access-log lines dropped because their destination could not keep up (or failed).',
      registers,
      collect: () => {
        const dropped = this.#accessLogDropped();
        if (dropped <= droppedSeen) return;
        accessLogDropped.inc(dropped - droppedSeen);
        droppedSeen = dropped;
      },
    });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    const maxSeries = opts.maxCachedSeries ?? 10_000;
    this.#requestSeries = new BoundedCache(maxSeries);
    this.#tcpSeries = new BoundedCache(maxSeries);
    this.#hosts = new HostLabeler(opts.maxOtherEgressHosts ?? 50);
  }

  // ---- Istio request and TCP metrics ----

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

  // ---- Proxy health ----

  /** Sets a cluster's endpoint gauges. */
  setClusterEndpoints(cluster: string, healthy: number, total: number): void {
    this.#clusters.add(cluster);
    this.#healthyEndpoints.labels(cluster).set(healthy);
    this.#endpoints.labels(cluster).set(total);
  }

  /** Drops the endpoint gauges of clusters that are no longer configured. */
  retainClusters(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const cluster of this.#clusters) {
      if (keep.has(cluster)) continue;
      this.#clusters.delete(cluster);
      this.#healthyEndpoints.remove(cluster);
      this.#endpoints.remove(cluster);
    }
  }

  outlierEjected(cluster: string): void {
    this.#outlierEjections.labels(cluster).inc();
  }

  healthCheckResult(cluster: string, result: HealthCheckResult): void {
    this.#healthChecks.labels(cluster, result).inc();
  }

  /** The egress allow-list (ServiceEntry hosts); these hosts always get their own label value. */
  setEgressAllowList(hosts: Iterable<string>): void {
    this.#hosts.setAllowList(hosts);
  }

  /** `reason` must come from a small fixed set (e.g. host_not_allowed, port_not_allowed). */
  egressDenied(reason: string, host: string): void {
    this.#egressDenied.labels(reason, this.#hosts.label(host)).inc();
  }

  egressAllowed(host: string): void {
    this.#egressAllowed.labels(this.#hosts.label(host)).inc();
  }

  /** A downstream connection was accepted (+1) or closed (-1) on a listener. */
  connectionsChanged(listener: string, delta: 1 | -1): void {
    this.#connectionsActive.labels(listener).inc(delta);
  }

  /** A connection was refused because its listener was at its limit. */
  connectionOverflow(listener: string): void {
    this.#connectionsOverflow.labels(listener).inc();
  }

  rateLimited(listener: string, route?: string): void {
    this.#rateLimited.labels(listener, route || '-').inc();
  }

  circuitOpen(cluster: string, breaker: BreakerName): void {
    this.#circuitOpen.labels(cluster, breaker).inc();
  }

  /** Where strait_access_log_dropped_lines_total comes from: a running count, read at each scrape. */
  countAccessLogDrops(read: () => number): void {
    this.#accessLogDropped = read;
  }

  // ---- Config state ----

  /** Records that a config version is now in force (bootstrap or discovery); counts an apply. */
  configApplied(version: string): void {
    this.#configApplies.inc();
    if (version === this.#currentVersion) return;
    this.#configVersion.reset();
    this.#configVersion.labels(version).set(1);
    this.#currentVersion = version;
  }

  setConfigStale(stale: boolean): void {
    this.#configStale.set(stale ? 1 : 0);
  }

  configNack(): void {
    this.#configNacks.inc();
  }

  /**
   * Follows the discovery client's status: `client.onStatus((s) => telemetry.trackDiscovery(s))`.
   * Updates staleness, the version (counting an apply when it changes) and NACKs (once per new NACK).
   */
  trackDiscovery(status: ConfigStatusLike): void {
    this.setConfigStale(status.stale);
    if (status.version !== undefined && status.version !== this.#currentVersion)
      this.configApplied(status.version);
    const nack = status.lastNack;
    if (nack && (nack.nonce !== this.#lastNack?.nonce || nack.at !== this.#lastNack?.at)) {
      this.#lastNack = { nonce: nack.nonce, at: nack.at };
      this.configNack();
    }
  }

  // ---- Exposition ----

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
