// What every listener shares: who this proxy is, its telemetry, and the live configuration it routes by.
import type { Listener } from '@strait/api';
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
  /** True once SIGTERM (or POST /drain) started: responses ask clients to close. */
  draining: boolean;
}
