// The discovery protocol between control plane and proxies (docs/architecture.md, "The push protocol"), over plain HTTP: a proxy POSTs a
// DiscoveryRequest to ApiPaths.discovery and reads newline-delimited DiscoveryMessages back; it answers each
// delta with an ACK or NACK (an AckMessage) on POST ApiPaths.ack. Both ends check messages with these schemas.
import { z } from 'zod';
import {
  DiscoveryResourceRefSchema,
  DiscoveryResourceSchema,
  ResourceVersionSchema,
} from './discovery-schemas.ts';
import type { RejectedResource } from './resource-api.ts';
import { RESOURCE_TYPES } from './resource-types.ts';
import { NodeInfoSchema } from './snapshot.ts';

/** The request body that opens a stream. */
export const DiscoveryRequestSchema = z.strictObject({
  node: NodeInfoSchema,
  /** The snapshot version the proxy runs (after a reconnect, or from a bootstrap file), for the status. */
  version: z.string().optional(),
  /** Every resource the proxy holds, with its version: only what differs is sent (Envoy's initial versions). */
  resources: z.array(ResourceVersionSchema).optional(),
});
export type DiscoveryRequest = z.input<typeof DiscoveryRequestSchema>;

/**
 * A change to the proxy's resources (Envoy's incremental xDS): `resources` to add or replace, `removed` to
 * drop, and the `version` of the whole set once applied. A `full` message lists every resource the proxy
 * should hold, and anything else it holds goes. Applied all or nothing; the proxy answers each by nonce.
 */
export const DeltaMessageSchema = z.strictObject({
  type: z.literal('delta'),
  version: z.string().min(1),
  nonce: z.string().min(1),
  full: z.boolean().optional(),
  resources: z.array(DiscoveryResourceSchema),
  removed: z.array(DiscoveryResourceRefSchema),
});
export type DeltaMessage = z.infer<typeof DeltaMessageSchema>;

/** Sent on the stream when nothing else is, so both ends can tell a live peer from a dead one. */
export const HeartbeatMessageSchema = z.strictObject({ type: z.literal('heartbeat'), time: z.number() });

/** Sent by the control plane on the stream, one JSON object per line. */
export const DiscoveryMessageSchema = z.discriminatedUnion('type', [
  DeltaMessageSchema,
  HeartbeatMessageSchema,
]);
export type DiscoveryMessage = z.infer<typeof DiscoveryMessageSchema>;

/** One resource a proxy refused, and why (the RejectedResource of the resource API). */
export const RejectedResourceSchema = z.strictObject({
  type: z.enum(RESOURCE_TYPES),
  name: z.string().min(1),
  error: z.string(),
}) satisfies z.ZodType<RejectedResource>;

/**
 * A proxy's answer to one delta. An ACK says the whole set now runs at `version`. A NACK says none of the
 * delta was applied (the proxy keeps `keptVersion`), why, and which resources were the reason.
 */
export const AckMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    nodeId: z.string().min(1),
    type: z.literal('ack'),
    nonce: z.string().min(1),
    version: z.string().min(1),
  }),
  z.strictObject({
    nodeId: z.string().min(1),
    type: z.literal('nack'),
    nonce: z.string().min(1),
    error: z.string(),
    keptVersion: z.string(),
    rejected: z.array(RejectedResourceSchema).optional(),
  }),
]);
export type AckMessage = z.infer<typeof AckMessageSchema>;
