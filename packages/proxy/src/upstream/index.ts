// The upstream side's public API: cluster manager, clusters, hosts, and the health and balancing parts.
export type { HealthCheckTarget, Prober } from '../health/active.ts';
export type { Outcome } from '../health/outlier.ts';
export type { ActiveHealth, ProbeResult } from '../health/state.ts';
export { createLoadBalancer } from '../lb/registry.ts';
export type { LoadBalancer, PickContext } from '../lb/types.ts';
export {
  DEFAULT_BREAKER_LIMIT,
  ORIGINAL_DST_IDLE_MS,
  ORIGINAL_DST_MAX_HOSTS,
  UpstreamCluster,
  type UpstreamClusterOptions,
} from './cluster.ts';
export { ClusterManager, type ClusterManagerOptions } from './cluster-manager.ts';
export type { RequestHead, ResponseHandler, UpstreamFailure } from './connection.ts';
export { UpstreamConnection } from './connection.ts';
export { cookieValue, hashKeyOf } from './hash-key.ts';
export { Host, hostKey, type PoolSettings, poolSettingsOf } from './host.ts';
export { type Acquired, ConnectionPool, type Connector, plainConnector } from './pool.ts';
export type {
  BreakerName,
  ChooseContext,
  ClusterEvents,
  ClusterStatus,
  HostStatus,
} from './types.ts';
