// Shared shapes of the upstream side: what choose() gets, the events the cluster manager emits (the
// proxy wires them into metrics) and the status the admin /clusters page shows.
import type { Cluster } from '@strait/api';
import type { HeaderLookup } from '../codec/headers.ts';
import type { ProbeResult } from '../health/state.ts';
import type { UpstreamCluster } from './cluster.ts';
import type { Host } from './host.ts';

/** Per-request input to UpstreamCluster.choose(). */
export interface ChooseContext {
  headers: HeaderLookup;
  sourceIp: string;
  /** ORIGINAL_DST clusters: where the request was going. */
  originalDestination?: { address: string; port: number };
}

/** Envoy's circuit breaker names. */
export type BreakerName = 'max_requests' | 'max_pending_requests' | 'max_retries';

export interface ClusterEvents {
  /** After every active probe; `healthy` is the host's state after it. */
  healthCheck?(cluster: UpstreamCluster, host: Host, healthy: boolean, result: ProbeResult): void;
  /** A host flipped between healthy and unhealthy by active checks (a subset of healthCheck calls). */
  healthTransition?(cluster: UpstreamCluster, host: Host, healthy: boolean): void;
  /** Outlier detection ejected a host. */
  ejection?(cluster: UpstreamCluster, host: Host): void;
  /** The number of healthy hosts may have changed (sent on every health change, ejection, return, update). */
  healthyCount?(cluster: UpstreamCluster, healthy: number, total: number): void;
  /** A circuit breaker refused a request or retry. */
  circuitOpen?(cluster: UpstreamCluster, breaker: BreakerName): void;
}

export interface HostStatus {
  address: string;
  port: number;
  weight: number;
  /** Eligible for traffic (all health sources agree). */
  healthy: boolean;
  activeHealth: 'healthy' | 'unhealthy' | 'unchecked';
  /** What the control plane said, if anything. */
  declaredHealth?: 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';
  ejected: boolean;
  /** Epoch ms the ejection ends, when ejected. */
  ejectedUntil?: number;
  /** Times ejected (the current ejection-time multiplier). */
  ejections: number;
  activeRequests: number;
  labels: Record<string, string>;
}

export interface ClusterStatus {
  name: string;
  type: Cluster['type'];
  lbPolicy: Cluster['lbPolicy'];
  service?: string;
  hosts: HostStatus[];
  /** In-flight requests and retries counted by the circuit breakers. */
  activeRequests: number;
  activeRetries: number;
  /** How often each breaker refused, since the cluster was created. */
  circuitOpens: Record<BreakerName, number>;
  /** How often choose() ran in panic mode (too few healthy hosts, all used). */
  panics: number;
}
