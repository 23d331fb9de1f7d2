// The discovery protocol's and the peer header's plain constants, and the proxy roles: no schema library,
// so a proxy can use them without loading zod.

/** Heartbeat period on the stream; a peer silent for 3 periods is taken as dead. */
export const HEARTBEAT_INTERVAL_MS = 5000;
export const HEARTBEAT_DEAD_AFTER_MS = 15000;

/** Header a client-side proxy uses to tell the server-side proxy who it is (Istio's peer metadata). */
export const PEER_METADATA_HEADER = 'x-strait-peer';

/** The three things a proxy can be. */
export const NODE_ROLES = ['ingress', 'sidecar', 'egress'] as const;
