// One upstream cluster: its hosts, load balancer, circuit breakers, active health checker and outlier
// detector. The router asks it for a host per attempt and reports how the attempt ended.
import type { Cluster, Endpoint } from '@strait/api';
import type { Logger } from 'pino';
import { ActiveHealthChecker, type Prober } from '../health/active.ts';
import { type Outcome, OutlierDetector } from '../health/outlier.ts';
import type { ProbeResult } from '../health/state.ts';
import { createLoadBalancer } from '../lb/registry.ts';
import type { LoadBalancer } from '../lb/types.ts';
import { CircuitBreakerState } from './breakers.ts';
import { hashKeyOf } from './hash-key.ts';
import { Host, hostKey, type PoolSettings, poolSettingsOf, samePoolSettings } from './host.ts';
import type { ChooseContext, ClusterEvents, ClusterStatus, HostStatus } from './types.ts';

export { DEFAULT_BREAKER_LIMIT } from './breakers.ts';
/** ORIGINAL_DST: at most this many destinations keep a Pool; least recently used go first. */
export const ORIGINAL_DST_MAX_HOSTS = 256;
/** ORIGINAL_DST: a destination unused this long has its Pool closed. */
export const ORIGINAL_DST_IDLE_MS = 60_000;

export interface UpstreamClusterOptions {
  logger: Logger;
  events?: ClusterEvents;
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
  random?: () => number;
  /** Replaces the HTTP prober of active health checks (tests). */
  prober?: Prober;
}

export class UpstreamCluster {
  config: Cluster;
  readonly name: string;
  readonly #logger: Logger;
  readonly #events: ClusterEvents;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #prober: Prober | undefined;
  #hosts = new Map<string, Host>();
  #list: Host[] = [];
  #lb: LoadBalancer;
  #eligible: Host[] = [];
  #outlier: OutlierDetector | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #checker: ActiveHealthChecker<Host> | undefined;
  #checkerKey = '';
  #started = false;
  readonly #breakers: CircuitBreakerState;
  #panics = 0;
  /** ORIGINAL_DST hosts by key, least recently used first. */
  readonly #originalDst = new Map<string, Host>();
  #originalDstTimer: NodeJS.Timeout | undefined;
  readonly #closing = new Set<Promise<void>>();

  constructor(config: Cluster, opts: UpstreamClusterOptions) {
    this.config = config;
    this.name = config.name;
    this.#logger = opts.logger.child({ cluster: config.name });
    this.#events = opts.events ?? {};
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#prober = opts.prober;
    this.#breakers = new CircuitBreakerState((breaker) => this.#events.circuitOpen?.(this, breaker));
    this.#lb = createLoadBalancer(config.lbPolicy ?? 'ROUND_ROBIN', { random: this.#random });
    this.#setHosts(config.endpoints, undefined);
    this.#syncOutlier(undefined);
  }

  /** All hosts (STATIC) or the cached destinations (ORIGINAL_DST). */
  get hosts(): readonly Host[] {
    return this.config.type === 'ORIGINAL_DST' ? [...this.#originalDst.values()] : this.#list;
  }

  /** Starts timers: active health checks, the outlier sweep, ORIGINAL_DST idle closing. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#syncHealthChecker();
    this.#syncOutlier(undefined);
    if (this.config.type === 'ORIGINAL_DST') {
      this.#originalDstTimer = setInterval(() => this.sweepOriginalDst(), ORIGINAL_DST_IDLE_MS / 2);
      this.#originalDstTimer.unref();
    }
    this.#emitHealthyCount();
  }

  /** Applies a changed config of the same name and type, keeping hosts whose address:port stayed. */
  update(config: Cluster): void {
    const previous = this.config;
    const oldSettings = poolSettingsOf(previous);
    this.config = config;
    if ((config.lbPolicy ?? 'ROUND_ROBIN') !== (previous.lbPolicy ?? 'ROUND_ROBIN')) {
      this.#lb = createLoadBalancer(config.lbPolicy ?? 'ROUND_ROBIN', { random: this.#random });
    }
    const settings = poolSettingsOf(config);
    const replacePools = samePoolSettings(oldSettings, settings) ? undefined : settings;
    this.#setHosts(config.endpoints, replacePools);
    if (replacePools) for (const host of this.#originalDst.values()) host.replacePool(replacePools);
    this.#syncOutlier(previous.outlierDetection?.intervalMs);
    if (this.#started) this.#syncHealthChecker();
    this.#emitHealthyCount();
  }

  /**
   * Picks a host for one attempt, or undefined when there is none (the caller answers 503 UH).
   * Below panicThresholdPercent healthy hosts, every host is a candidate (Envoy's panic mode).
   */
  choose(ctx: ChooseContext): Host | undefined {
    if (this.config.type === 'ORIGINAL_DST') return this.#chooseOriginalDst(ctx);
    const all = this.#list;
    if (all.length === 0) return undefined;
    const healthy = this.#healthyHosts(this.#now());
    let candidates = healthy;
    if (healthy.length * 100 < (this.config.panicThresholdPercent ?? 50) * all.length) {
      candidates = all;
      this.#panics++;
    }
    if (candidates.length === 0) return undefined;
    const hashKey =
      this.config.lbPolicy === 'CONSISTENT_HASH'
        ? hashKeyOf(this.config.hashPolicy, ctx.headers, ctx.sourceIp)
        : undefined;
    return this.#lb.pick(candidates, hashKey === undefined ? {} : { hashKey });
  }

  /** Circuit breakers for a new request; false means refuse it with 503 UO. Pair with releaseRequest(). */
  acquireRequest(): boolean {
    return this.#breakers.acquireRequest(this.config.circuitBreakers);
  }

  releaseRequest(): void {
    this.#breakers.releaseRequest();
  }

  /** Circuit breaker for a retry; false means do not retry (503 UO if nothing else). Pair with releaseRetry(). */
  acquireRetry(): boolean {
    return this.#breakers.acquireRetry(this.config.circuitBreakers);
  }

  releaseRetry(): void {
    this.#breakers.releaseRetry();
  }

  /** How an attempt on `host` ended; feeds outlier detection. */
  reportResult(host: Host, outcome: Outcome): void {
    const detector = this.#outlier;
    if (detector === undefined || this.#hosts.get(host.key) !== host) return;
    if (!detector.record(host, outcome, this.#list, this.#now())) return;
    this.#logger.warn(
      { host: host.key, ejections: host.outlier.ejections, until: host.outlier.ejectedUntil },
      'outlier detection ejected host',
    );
    this.#events.ejection?.(this, host);
    this.#emitHealthyCount();
  }

  /** Runs the outlier interval sweep now (the timer calls this; tests call it with a fake clock). */
  sweepOutliers(): void {
    if (this.#outlier === undefined) return;
    const returned = this.#outlier.sweep(this.#list, this.#now());
    if (returned.length === 0) return;
    for (const host of returned) this.#logger.info({ host: host.key }, 'ejected host returned');
    this.#emitHealthyCount();
  }

  /** Closes ORIGINAL_DST pools that have been idle too long. */
  sweepOriginalDst(): void {
    const cutoff = this.#now() - ORIGINAL_DST_IDLE_MS;
    for (const [key, host] of this.#originalDst) {
      if (host.lastUsed < cutoff && host.activeRequests === 0) {
        this.#originalDst.delete(key);
        this.#retire(host);
      }
    }
  }

  status(): ClusterStatus {
    const now = this.#now();
    const status: ClusterStatus = {
      name: this.name,
      type: this.config.type ?? 'STATIC',
      lbPolicy: this.config.lbPolicy ?? 'ROUND_ROBIN',
      hosts: this.hosts.map((h) => hostStatus(h, now)),
      activeRequests: this.#breakers.requests,
      activeRetries: this.#breakers.retries,
      circuitOpens: { ...this.#breakers.opens },
      panics: this.#panics,
    };
    if (this.config.service !== undefined) status.service = this.config.service;
    return status;
  }

  /** Stops timers and checks, then closes every Pool gracefully (in-flight requests finish). */
  async close(): Promise<void> {
    this.#started = false;
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    if (this.#originalDstTimer) clearInterval(this.#originalDstTimer);
    this.#sweepTimer = undefined;
    this.#originalDstTimer = undefined;
    const checker = this.#checker;
    this.#checker = undefined;
    this.#checkerKey = '';
    for (const host of this.#list) this.#retire(host);
    for (const host of this.#originalDst.values()) this.#retire(host);
    this.#hosts.clear();
    this.#list = [];
    this.#eligible = [];
    this.#originalDst.clear();
    await Promise.all([checker?.stop(), ...this.#closing]);
  }

  /** Healthy hosts; the same array as last time when nothing changed, so the ring hash keeps its ring. */
  #healthyHosts(now: number): Host[] {
    // Compare against the cached list first so the common case allocates nothing.
    const cached = this.#eligible;
    let matched = 0;
    let same = true;
    for (const host of this.#list) {
      if (!host.isHealthy(now)) continue;
      if (cached[matched] !== host) {
        same = false;
        break;
      }
      matched++;
    }
    if (same && matched === cached.length) return cached;
    this.#eligible = this.#list.filter((h) => h.isHealthy(now));
    return this.#eligible;
  }

  #setHosts(endpoints: readonly Endpoint[], replacePools: PoolSettings | undefined): void {
    if (this.config.type === 'ORIGINAL_DST') {
      this.#hosts = new Map();
      this.#list = [];
      return;
    }
    const settings = poolSettingsOf(this.config);
    const next = new Map<string, Host>();
    for (const endpoint of endpoints) {
      const key = hostKey(endpoint.address, endpoint.port);
      if (next.has(key)) {
        this.#logger.warn({ host: key }, 'endpoint listed twice; keeping the first');
        continue;
      }
      const existing = this.#hosts.get(key);
      if (existing) {
        existing.updateEndpoint(endpoint);
        if (replacePools) existing.replacePool(replacePools);
        next.set(key, existing);
      } else {
        next.set(key, new Host(endpoint, settings, this.#now));
      }
    }
    for (const [key, host] of this.#hosts) if (!next.has(key)) this.#retire(host);
    this.#hosts = next;
    this.#list = [...next.values()];
    this.#eligible = [];
  }

  #retire(host: Host): void {
    const closing = host.close();
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }

  #syncOutlier(previousIntervalMs: number | undefined): void {
    const config = this.config.outlierDetection;
    if (config === undefined || this.config.type === 'ORIGINAL_DST') {
      if (this.#outlier) for (const host of this.#list) host.outlier.ejectedUntil = 0;
      this.#outlier = undefined;
      if (this.#sweepTimer) clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
      return;
    }
    if (this.#outlier) this.#outlier.config = config;
    else this.#outlier = new OutlierDetector(config);
    if (!this.#started) return;
    if (this.#sweepTimer && previousIntervalMs === config.intervalMs) return;
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    this.#sweepTimer = setInterval(() => this.sweepOutliers(), config.intervalMs);
    this.#sweepTimer.unref();
  }

  /** (Re)starts the active checker when its settings changed, else just tells it the current hosts. */
  #syncHealthChecker(): void {
    const config = this.config.type === 'ORIGINAL_DST' ? undefined : this.config.healthCheck;
    const authority = config?.host ?? this.config.service;
    const key = config === undefined ? '' : JSON.stringify([config, authority]);
    if (key === this.#checkerKey && (this.#checker !== undefined || key === '')) {
      this.#checker?.setTargets(this.#list);
      return;
    }
    const old = this.#checker;
    if (old) {
      const stopping = old.stop();
      this.#closing.add(stopping);
      void stopping.finally(() => this.#closing.delete(stopping));
    }
    this.#checker = undefined;
    this.#checkerKey = key;
    if (config === undefined) {
      for (const host of this.#list) host.activeHealth.reset();
      return;
    }
    const checker = new ActiveHealthChecker<Host>({
      config,
      authority,
      random: this.#random,
      ...(this.#prober ? { prober: this.#prober } : {}),
      onResult: (host, result, changed) => this.#onProbe(host, result, changed),
    });
    this.#checker = checker;
    checker.start(this.#list);
  }

  #onProbe(host: Host, result: ProbeResult, changed: boolean): void {
    const healthy = host.activeHealth.healthy;
    this.#events.healthCheck?.(this, host, healthy, result);
    if (!changed) return;
    this.#logger.info(
      { host: host.key, result },
      healthy ? 'host passed health checks' : 'host failed health checks',
    );
    this.#events.healthTransition?.(this, host, healthy);
    this.#emitHealthyCount();
  }

  #emitHealthyCount(): void {
    const emit = this.#events.healthyCount;
    if (emit === undefined || this.config.type === 'ORIGINAL_DST') return;
    const now = this.#now();
    let healthy = 0;
    for (const host of this.#list) if (host.isHealthy(now)) healthy++;
    emit(this, healthy, this.#list.length);
  }

  #chooseOriginalDst(ctx: ChooseContext): Host | undefined {
    const target = ctx.originalDestination;
    if (target === undefined || target.address === '') return undefined;
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) return undefined;
    const key = hostKey(target.address, target.port);
    let host = this.#originalDst.get(key);
    if (host === undefined && !URL.canParse(`http://${key}`)) return undefined;
    if (host) {
      this.#originalDst.delete(key); // re-inserted below: most recently used last
    } else {
      host = new Host(
        { address: target.address, port: target.port, weight: 1 },
        poolSettingsOf(this.config),
        this.#now,
      );
      this.#evictOriginalDst();
    }
    this.#originalDst.set(key, host);
    host.lastUsed = this.#now();
    return host;
  }

  /** Makes room for one more destination: the least recently used idle one goes (or the oldest). */
  #evictOriginalDst(): void {
    if (this.#originalDst.size < ORIGINAL_DST_MAX_HOSTS) return;
    let victim: Host | undefined;
    for (const host of this.#originalDst.values()) {
      if (host.activeRequests === 0) {
        victim = host;
        break;
      }
    }
    victim ??= this.#originalDst.values().next().value;
    if (victim === undefined) return;
    this.#originalDst.delete(victim.key);
    this.#retire(victim);
  }
}

function hostStatus(host: Host, now: number): HostStatus {
  const ejected = host.outlier.isEjected(now);
  const status: HostStatus = {
    address: host.address,
    port: host.port,
    weight: host.weight,
    healthy: host.isHealthy(now),
    activeHealth: host.activeHealth.status,
    ejected,
    ejections: host.outlier.ejections,
    activeRequests: host.activeRequests,
    labels: { ...(host.endpoint.labels ?? {}) },
  };
  if (ejected) status.ejectedUntil = host.outlier.ejectedUntil;
  if (host.endpoint.health !== undefined) status.declaredHealth = host.endpoint.health;
  return status;
}
