// One upstream endpoint as the proxy sees it: its pool of keep-alive connections, weight, in-flight count
// and health (active check state, outlier state, and the control plane's own verdict).
import { isIP } from 'node:net';
import type { Cluster, Endpoint } from '@strait/api';
import { OutlierState } from '../health/outlier.ts';
import { HealthState } from '../health/state.ts';
import { ConnectionPool, type PoolSettings } from './pool.ts';

export type { PoolSettings } from './pool.ts';

export const DEFAULT_IDLE_TIMEOUT_MS = 4000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;

export function poolSettingsOf(cluster: Cluster): PoolSettings {
  return {
    connectTimeoutMs: cluster.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: cluster.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxConnections: cluster.circuitBreakers?.maxConnections,
  };
}

export function samePoolSettings(a: PoolSettings, b: PoolSettings): boolean {
  return (
    a.connectTimeoutMs === b.connectTimeoutMs &&
    a.idleTimeoutMs === b.idleTimeoutMs &&
    a.maxConnections === b.maxConnections
  );
}

/** `address:port`, with an IPv6 address in brackets. */
export function hostKey(address: string, port: number): string {
  return `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

export class Host {
  /** `address:port` (IPv6 bracketed). */
  readonly key: string;
  /** http://address:port */
  readonly origin: string;
  endpoint: Endpoint;
  weight: number;
  /** Requests in flight; the caller counts them (beginRequest/endRequest), LEAST_REQUEST reads them. */
  activeRequests = 0;
  pool: ConnectionPool;
  /** Active health check state ('unchecked' counts as healthy). */
  readonly activeHealth = new HealthState();
  /** Passive (outlier detection) state. */
  readonly outlier = new OutlierState();
  /** Last time a request chose this host (epoch ms); used to idle out ORIGINAL_DST hosts. */
  lastUsed = 0;
  readonly #now: () => number;

  constructor(endpoint: Endpoint, settings: PoolSettings, now: () => number = Date.now) {
    this.key = hostKey(endpoint.address, endpoint.port);
    this.origin = `http://${this.key}`;
    this.endpoint = endpoint;
    this.weight = endpoint.weight ?? 1;
    this.#now = now;
    this.pool = new ConnectionPool(endpoint.address, endpoint.port, settings);
  }

  get address(): string {
    return this.endpoint.address;
  }

  get port(): number {
    return this.endpoint.port;
  }

  /** Healthy: not failed by active checks, not ejected, and not UNHEALTHY/DRAINING per the control plane. */
  isHealthy(now: number = this.#now()): boolean {
    const declared = this.endpoint.health;
    return (
      declared !== 'UNHEALTHY' &&
      declared !== 'DRAINING' &&
      this.activeHealth.healthy &&
      !this.outlier.isEjected(now)
    );
  }

  beginRequest(): void {
    this.activeRequests++;
  }

  endRequest(): void {
    if (this.activeRequests > 0) this.activeRequests--;
  }

  /** Takes new weight/labels/health from the control plane; address and port are the same. */
  updateEndpoint(endpoint: Endpoint): void {
    this.endpoint = endpoint;
    this.weight = endpoint.weight ?? 1;
  }

  /** New pool settings; connections in use finish their requests, then follow them. */
  replacePool(settings: PoolSettings): void {
    const old = this.pool;
    this.pool = new ConnectionPool(this.endpoint.address, this.endpoint.port, settings);
    old.close();
  }

  /** Closes idle connections now; those in use close once their response is done. */
  close(): Promise<void> {
    this.pool.close();
    return Promise.resolve();
  }
}
