// What every listener shares: who this proxy is, the live configuration it routes by, and the observer
// that telemetry implements (the request path reports through it and never imports telemetry).
import type { Listener, PeerInfo } from '@strait/api';
import type { CompiledAuthorization } from '@strait/api/routing';
import type { Logger } from 'pino';
import type { CodecLimits } from '../codec/types.ts';
import type { EgressPolicyChecker } from '../egress/index.ts';
import type { TokenBucketLimiter } from '../filters/rate-limit.ts';
import type { RouteTable } from '../router/route-table.ts';
import type { RequestTrace, TracingPolicy } from '../tracing/request-trace.ts';
import type { ClusterManager, Host, UpstreamCluster } from '../upstream/index.ts';

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
  limits: CodecLimits;
  /** The listener's AuthorizationPolicies, compiled; undefined when none applies (then nothing is checked). */
  authorization: CompiledAuthorization | undefined;
}

/** One finished request as telemetry reads it (Envoy's stream info). */
export interface StreamRecord {
  readonly config: ListenerConfig;
  /** Epoch ms of the first byte, and the duration in ms. */
  readonly startTime: number;
  readonly durationMs: number;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly requestId: string;
  readonly userAgent: string | undefined;
  readonly remoteAddress: string;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly status: number;
  /** Envoy's response flag, "-" for none. */
  readonly flag: string;
  readonly routeName: string;
  readonly clusterName: string;
  readonly cluster: UpstreamCluster | undefined;
  readonly host: Host | undefined;
  /** The known caller (`namespace/workload`, inbound listeners); "" when unknown. */
  readonly peerKey: string;
  /** The caller's SPIFFE ID from its verified certificate (mutual TLS); "" over plain text. */
  readonly peerPrincipal: string;
  /** A tunnel (CONNECT, upgrade): its bytes count as TCP. */
  readonly tunnel: boolean;
  /** The request's trace when it was sampled: its server span and one client span per attempt. */
  readonly trace: RequestTrace | undefined;
}

/** Byte counts of a tunnel's life. */
export interface TunnelTotals {
  opened: boolean;
  sentBytes: number;
  receivedBytes: number;
}

/** How telemetry hears about the request path. */
export interface RequestObserver {
  /** A request finished (answered, failed or broken off): the metrics and the access log. */
  requestDone(record: StreamRecord): void;
  /** A tunnel opened (counted at once); `tunnelClosed` adds its bytes and logs it. */
  tunnelOpened(record: StreamRecord): void;
  tunnelClosed(record: StreamRecord, totals: TunnelTotals): void;
  /** A request the codec refused before any routing (limits, malformed input). */
  refused(config: ListenerConfig, remoteAddress: string, status: number, code: string): void;
  rateLimited(listener: string, route: string): void;
  egressAllowed(host: string): void;
  egressDenied(reason: string, host: string): void;
  connectionsChanged(listener: string, delta: 1 | -1): void;
  connectionOverflow(listener: string): void;
}

/** Everything that lives across snapshots, plus the current egress policy. */
export interface ProxyContext {
  node: NodeIdentity;
  logger: Logger;
  observer: RequestObserver;
  clusters: ClusterManager;
  egress: EgressPolicyChecker;
  egressMode: 'REGISTRY_ONLY' | 'ALLOW_ANY';
  /** Tracing as the snapshot sets it; undefined when off (then a request does no tracing work at all). */
  tracing: TracingPolicy | undefined;
  /** Workloads the control plane knows, by `namespace/workload`: the only source_* labels an inbound uses. */
  peers: ReadonlyMap<string, PeerInfo>;
  /** True once SIGTERM (or POST /drain) started: responses ask clients to close. */
  draining: boolean;
}
