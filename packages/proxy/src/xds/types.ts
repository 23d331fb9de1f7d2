// The discovery client's public shapes: its status (for admin, readiness and the config metrics), the
// counters Envoy keeps for its xds-grpc cluster, and its options.

import type { NodeInfo, Snapshot } from '@strait/api';
import type pino from 'pino';
import type { ProxyWorkloadIdentity } from '../identity/workload-identity.ts';

export interface DiscoveryStatus {
  /** A stream is open (the control plane answered 200). */
  connected: boolean;
  /** Serving a config that may be out of date: not connected, but some config is (or was) in use. */
  stale: boolean;
  /** The version of the last snapshot applied (or the bootstrap's), if any. */
  version: string | undefined;
  lastNack?: { nonce: string; error: string; at: number };
  /** When the current stream opened (epoch ms). */
  connectedSince?: number;
  /** How many times a stream was lost and a new one attempted. */
  reconnects: number;
  /** The control-plane URL of the open stream (with the address it resolved to, when that differs). */
  controlPlane?: string;
  /** The replica serving the open stream, as it names itself. */
  replica?: string;
}

/** Counters of the connection to the control plane, as Envoy keeps them for its `xds-grpc` cluster. */
export interface DiscoveryCounters {
  /** Streams opened (the control plane answered 200). */
  streamsOpened: number;
  /** Attempts that failed to open a stream. */
  connectFailures: number;
  /** Bytes read from streams. */
  bytesReceived: number;
  /** Bytes of stream requests and ACK/NACK posts sent. */
  bytesSent: number;
}

export interface DiscoveryClientOptions {
  /**
   * The control-plane replicas' base URLs, e.g. http://127.0.0.1:15010 (a trailing slash is fine); a name
   * that resolves to several addresses counts as that many replicas.
   */
  urls: readonly string[];
  node: NodeInfo;
  /** Installs a snapshot. Must be all-or-nothing: if it throws, the old config must still be in force. */
  apply: (snapshot: Snapshot) => Promise<void> | void;
  logger: pino.Logger;
  /** Bearer token for the control plane (when it runs no CA). */
  token?: string;
  /** The proxy's mesh identity: the stream and ACKs then go over TLS with its certificate. */
  identity?: ProxyWorkloadIdentity;
  /** The snapshot already running (from a bootstrap file); makes the client "stale" until it connects. */
  initial?: Snapshot;
  backoff?: { initialMs: number; maxMs: number };
  /**
   * Where among the replicas the first stream goes (0 ≤ n < 1 picks the replica). Default: from a hash of
   * the node id, so proxies spread over the replicas and each one always starts at the same replica.
   */
  firstReplica?: () => number;
  /** Silence on the stream after which it is taken as dead. Default HEARTBEAT_DEAD_AFTER_MS. */
  heartbeatDeadAfterMs?: number;
  /** Timeout for opening the stream and for each ACK/NACK post. Default 10 s. */
  requestTimeoutMs?: number;
  /** Largest accepted message line, in bytes. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Delays between attempts of an ACK/NACK post that got no answer. Default 200 and 1000 ms. */
  ackRetryDelaysMs?: readonly number[];
}
