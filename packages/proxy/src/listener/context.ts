// What every listener shares: who this proxy is, its telemetry, and the live configuration it routes by.
import type { Listener, PeerInfo } from '@strait/api';
import type { Logger } from 'pino';
import type { EgressPolicyChecker } from '../egress/index.ts';
import type { TokenBucketLimiter } from '../filters/index.ts';
import type { RouteTable } from '../router/index.ts';
import type { AccessLog, ProxyTelemetry } from '../telemetry/index.ts';
import type { ClusterManager } from '../upstream/index.ts';

/** This proxy's identity, resolved once. */
export interface NodeIdentity {
  id: string;
  role: 'ingress' | 'sidecar' | 'egress';
  workload: string;
  namespace: string;
  app: string;
  version: string;
  /** The encoded peer-metadata header value this proxy sends upstream. */
  peerHeader: string;
  /** This proxy's entry in Via. */
  via: string;
}

/** A listener's compiled configuration; replaced whole when a snapshot is applied. */
export interface ListenerConfig {
  listener: Listener;
  routes: RouteTable;
  limiter: TokenBucketLimiter | undefined;
  /** Open connections the listener takes before it answers new ones with 503 (this process's share). */
  maxConnections: number;
}

/** Everything that lives across snapshots, plus the current egress policy. */
export interface ProxyContext {
  node: NodeIdentity;
  logger: Logger;
  telemetry: ProxyTelemetry;
  accessLog: AccessLog;
  clusters: ClusterManager;
  egress: EgressPolicyChecker;
  egressMode: 'REGISTRY_ONLY' | 'ALLOW_ANY';
  /** Workloads the control plane knows, by `namespace/workload`: the only source_* labels an inbound uses. */
  peers: ReadonlyMap<string, PeerInfo>;
  /** True once SIGTERM (or POST /drain) started: responses ask clients to close. */
  draining: boolean;
}
