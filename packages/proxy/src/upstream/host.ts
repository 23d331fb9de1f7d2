// One upstream endpoint as the proxy sees it: its pool of keep-alive connections, weight, in-flight count
// and health (active check state, outlier state, and the control plane's own verdict).
import { isIP } from 'node:net';
import { type Cluster, type Endpoint, TLS_MODE_LABEL } from '@strait/api';
import { OutlierState } from '../health/outlier.ts';
import { HealthState } from '../health/state.ts';
import { ConnectionPool, type Connector, type PoolSettings } from './pool.ts';
import { tlsConnector } from './tls-connector.ts';

export type { PoolSettings } from './pool.ts';

export const DEFAULT_IDLE_TIMEOUT_MS = 4000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;

export function poolSettingsOf(cluster: Cluster): PoolSettings {
  return {
    connectTimeoutMs: cluster.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: cluster.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxConnections: cluster.circuitBreakers?.maxConnections,
    tls: cluster.tls,
  };
}

/** Pools are keyed by their TLS settings too: a change of mode or expected identity opens new connections. */
export function samePoolSettings(a: PoolSettings, b: PoolSettings): boolean {
  return (
    a.connectTimeoutMs === b.connectTimeoutMs &&
    a.idleTimeoutMs === b.idleTimeoutMs &&
    a.maxConnections === b.maxConnections &&
    JSON.stringify(a.tls) === JSON.stringify(b.tls)
  );
}

/** How to reach one endpoint over TLS: mesh mTLS only where it has a sidecar, origination everywhere. */
function tlsConnectorFor(endpoint: Endpoint, settings: PoolSettings): Connector | undefined {
  const tls = settings.tls;
  if (tls === undefined) return undefined;
  if (tls.mode === 'ISTIO_MUTUAL' && endpoint.labels?.[TLS_MODE_LABEL] !== 'istio') return undefined;
  return tlsConnector(tls);
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
  /** Opens a TLS connection to the endpoint when its cluster says so (health checks use it too). */
  tlsConnect: Connector | undefined;
  /** Active health check state ('unchecked' counts as healthy). */
  readonly activeHealth = new HealthState();
  /** Passive (outlier detection) state. */
  readonly outlier = new OutlierState();
  /** Last time a request chose this host (epoch ms); used to idle out ORIGINAL_DST hosts. */
  lastUsed = 0;
  readonly #now: () => number;
  #settings: PoolSettings;

  constructor(endpoint: Endpoint, settings: PoolSettings, now: () => number = Date.now) {
    this.key = hostKey(endpoint.address, endpoint.port);
    this.origin = `http://${this.key}`;
    this.endpoint = endpoint;
    this.weight = endpoint.weight ?? 1;
    this.#now = now;
    this.#settings = settings;
    this.tlsConnect = tlsConnectorFor(endpoint, settings);
    this.pool = new ConnectionPool(endpoint.address, endpoint.port, settings, this.tlsConnect);
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
    const wasTls = this.tlsConnect !== undefined;
    this.endpoint = endpoint;
    this.weight = endpoint.weight ?? 1;
    // The endpoint started or stopped taking mesh mTLS (its PeerAuthentication changed): new connections.
    if (wasTls !== (tlsConnectorFor(endpoint, this.#settings) !== undefined))
      this.replacePool(this.#settings);
  }

  /** New pool settings; connections in use finish their requests, then follow them. */
  replacePool(settings: PoolSettings): void {
    const old = this.pool;
    this.#settings = settings;
    this.tlsConnect = tlsConnectorFor(this.endpoint, settings);
    this.pool = new ConnectionPool(this.endpoint.address, this.endpoint.port, settings, this.tlsConnect);
    old.close();
  }

  /** Closes idle connections now; those in use close once their response is done. */
  close(): Promise<void> {
    this.pool.close();
    return Promise.resolve();
  }
}
