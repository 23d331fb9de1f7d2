// The discovery protocol between control plane and proxies (DESIGN §5), over plain HTTP.
// A proxy POSTs its node to ApiPaths.discovery and reads newline-delimited JSON messages back;
// it answers each snapshot with an ACK or NACK on POST ApiPaths.ack.
import type { NodeInfo, SnapshotInput } from './snapshot.ts';

/** Sent by the control plane on the stream, one JSON object per line. */
export type DiscoveryMessage =
  | { type: 'snapshot'; version: string; nonce: string; snapshot: SnapshotInput }
  | { type: 'heartbeat'; time: number };

/** The request body that opens a stream. */
export interface DiscoveryRequest {
  node: NodeInfo;
  /** The version the proxy already runs (after a reconnect), so an unchanged snapshot need not be sent. */
  version?: string;
}

/** A proxy's answer to one snapshot message. */
export type AckMessage =
  | { nodeId: string; type: 'ack'; version: string; nonce: string }
  | { nodeId: string; type: 'nack'; nonce: string; error: string; keptVersion: string };

/** Heartbeat period on the stream; a peer silent for 3 periods is taken as dead. */
export const HEARTBEAT_INTERVAL_MS = 5000;
export const HEARTBEAT_DEAD_AFTER_MS = 15000;

/** Header a client-side proxy uses to tell the server-side proxy who it is (Istio's peer metadata). */
export const PEER_METADATA_HEADER = 'x-strait-peer';
