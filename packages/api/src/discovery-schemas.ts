// The discovery resources' schemas (zod): what each resource type may hold, and the shapes that name and
// version a resource. The control plane validates with them; the proxy runs their compiled form
// (compiled/validators.js), so it never loads zod.
import { z } from 'zod';
import { RESOURCE_TYPES, type ResourceType } from './resource-types.ts';
import {
  ClusterSchema,
  EgressPolicySchema,
  EndpointSchema,
  KnownPeerSchema,
  ListenerSchema,
  TelemetrySettingsSchema,
  VirtualHostSchema,
} from './snapshot.ts';

/** A listener without its virtual hosts; its route table is the `routes` resource of the same name. */
export const ListenerResourceSchema = ListenerSchema.omit({ virtualHosts: true });
/** A listener's route table (Envoy's RouteConfiguration), named after its listener. */
export const RoutesResourceSchema = z.strictObject({
  name: z.string().min(1),
  virtualHosts: z.array(VirtualHostSchema),
});
/** A cluster without its endpoints; they are the `endpoints` resource of the same name. */
export const ClusterResourceSchema = ClusterSchema.omit({ endpoints: true });
/** A cluster's endpoints (Envoy's ClusterLoadAssignment). */
export const EndpointsResourceSchema = z.strictObject({
  cluster: z.string().min(1),
  endpoints: z.array(EndpointSchema),
});

/** The workloads that may call a sidecar (the snapshot's `peers`). */
export const PeersResourceSchema = z.strictObject({ peers: z.array(KnownPeerSchema) });

/** How a proxy validates each resource it receives, before assembling them into a snapshot. */
export const RESOURCE_SCHEMAS = {
  listener: ListenerResourceSchema,
  routes: RoutesResourceSchema,
  cluster: ClusterResourceSchema,
  endpoints: EndpointsResourceSchema,
  egress: EgressPolicySchema,
  telemetry: TelemetrySettingsSchema,
  peers: PeersResourceSchema,
} as const satisfies Record<ResourceType, z.ZodType>;

const ResourceTypeSchema = z.enum(RESOURCE_TYPES);

/** Names one resource. */
export const DiscoveryResourceRefSchema = z.strictObject({
  type: ResourceTypeSchema,
  name: z.string().min(1),
});
export type DiscoveryResourceRef = z.infer<typeof DiscoveryResourceRefSchema>;

/** One resource's version, as a proxy reports what it holds when it reconnects. */
export const ResourceVersionSchema = DiscoveryResourceRefSchema.extend({ version: z.string().min(1) });
export type ResourceVersion = z.infer<typeof ResourceVersionSchema>;

/** One resource as the stream carries it; `resource` is checked against RESOURCE_SCHEMAS[type]. */
export const DiscoveryResourceSchema = ResourceVersionSchema.extend({ resource: z.unknown() });
export type DiscoveryResource = z.infer<typeof DiscoveryResourceSchema>;
