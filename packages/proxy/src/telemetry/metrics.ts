// The proxy's Prometheus registry: Istio's standard traffic metrics (istio-metrics.ts) and Strait's proxy
// health metrics (endpoints, health checks, egress, connections, config state), declared once, here.
import { IstioMetrics, ProxyMetrics } from '@strait/api';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { HostLabeler } from './host-label.ts';
import { IstioTrafficMetrics, type RequestSeries, type TcpSeries } from './istio-metrics.ts';
import type { RequestSeriesLabels, TcpSeriesLabels } from './labels.ts';

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

export class ProxyTelemetry {
  readonly registry = new Registry();
  /** Istio's request and TCP metrics (the hot path records through their series). */
  readonly traffic: IstioTrafficMetrics;
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
  readonly #hosts: HostLabeler;
  readonly #clusters = new Set<string>();
  #currentVersion: string | undefined;
  #lastNack: { nonce: string; at: number } | undefined;

  constructor(opts: ProxyTelemetryOptions) {
    const registers = [this.registry];
    this.traffic = new IstioTrafficMetrics(this.registry, opts.maxCachedSeries ?? 10_000);
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

    this.#hosts = new HostLabeler(opts.maxOtherEgressHosts ?? 50);
  }

  // ---- Istio request and TCP metrics (see istio-metrics.ts) ----

  requestSeries(labels: Partial<RequestSeriesLabels>): RequestSeries {
    return this.traffic.requestSeries(labels);
  }

  requestSeriesByKey(key: string, build: () => Partial<RequestSeriesLabels>): RequestSeries {
    return this.traffic.requestSeriesByKey(key, build);
  }

  tcpSeries(labels: Partial<TcpSeriesLabels>): TcpSeries {
    return this.traffic.tcpSeries(labels);
  }

  get cachedSeries(): { request: number; tcp: number } {
    return this.traffic.cachedSeries;
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
