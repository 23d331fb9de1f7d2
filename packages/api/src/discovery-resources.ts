// Discovery resources: a snapshot split the way Envoy's xDS splits configuration — listeners apart from their
// route tables (LDS/RDS), clusters apart from their endpoints (CDS/EDS) — plus the proxy-wide egress policy,
// telemetry settings and known peers. Each resource has a content-hash version, so a push carries only what
// changed. Plain functions, no schema library: a proxy loads this module; the schemas are in
// discovery-schemas.ts.
import { createHash } from 'node:crypto';
import type { DiscoveryResource, DiscoveryResourceRef, ResourceVersion } from './discovery-schemas.ts';
import {
  EGRESS_RESOURCE_NAME,
  PEERS_RESOURCE_NAME,
  RESOURCE_TYPES,
  type ResourceType,
  TELEMETRY_RESOURCE_NAME,
} from './resource-types.ts';
import type { SnapshotInput } from './snapshot.ts';

/** One key per resource (`type/name`; a type never holds a slash). */
export function discoveryKey(ref: { type: ResourceType; name: string }): string {
  return `${ref.type}/${ref.name}`;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Each resource's JSON, kept from hashing so that it is encoded once. */
const jsonOf = new WeakMap<DiscoveryResource, string>();

/**
 * Versions by the resource's JSON. Whoever builds resources builds them in a fixed key order (translation,
 * a schema's parse), so equal content gives equal text; were it not, a resource would only be sent again.
 */
function versioned(type: ResourceType, name: string, resource: object): DiscoveryResource {
  const json = JSON.stringify(resource);
  const versioned: DiscoveryResource = { type, name, version: hash(json), resource };
  jsonOf.set(versioned, json);
  return versioned;
}

/** A resource's body as JSON (from when it was versioned, if this process versioned it). */
export function resourceJson(resource: DiscoveryResource): string {
  return jsonOf.get(resource) ?? JSON.stringify(resource.resource);
}

/** Resources already split from an object of a snapshot; objects shared by many snapshots split once. */
const splitOf = new WeakMap<object, DiscoveryResource[]>();

function memo(object: object, split: () => DiscoveryResource[]): DiscoveryResource[] {
  let resources = splitOf.get(object);
  if (!resources) {
    resources = split();
    splitOf.set(object, resources);
  }
  return resources;
}

/**
 * A snapshot's resources, each with its content-hash version. The objects are remembered by identity, so a
 * snapshot's parts must not change once split (translation builds them once; a received snapshot is frozen).
 */
export function splitSnapshot(snapshot: Omit<SnapshotInput, 'version'>): DiscoveryResource[] {
  const out: DiscoveryResource[] = [];
  for (const listener of snapshot.listeners)
    out.push(
      ...memo(listener, () => {
        const { virtualHosts, ...rest } = listener;
        return [
          versioned('listener', listener.name, rest),
          versioned('routes', listener.name, { name: listener.name, virtualHosts }),
        ];
      }),
    );
  for (const cluster of snapshot.clusters)
    out.push(
      ...memo(cluster, () => {
        const { endpoints, ...rest } = cluster;
        return [
          versioned('cluster', cluster.name, rest),
          versioned('endpoints', cluster.name, { cluster: cluster.name, endpoints }),
        ];
      }),
    );
  const egress = snapshot.egress;
  if (egress) out.push(...memo(egress, () => [versioned('egress', EGRESS_RESOURCE_NAME, egress)]));
  const telemetry = snapshot.telemetry;
  if (telemetry)
    out.push(...memo(telemetry, () => [versioned('telemetry', TELEMETRY_RESOURCE_NAME, telemetry)]));
  const peers = snapshot.peers;
  if (peers) out.push(...memo(peers, () => [versioned('peers', PEERS_RESOURCE_NAME, { peers })]));
  return out;
}

/** The version of a whole set of resources: a hash of every resource's type, name and version. */
export function versionOfResources(resources: Iterable<ResourceVersion>): string {
  const lines: string[] = [];
  for (const r of resources) lines.push(`${discoveryKey(r)}@${r.version}`);
  return hash(lines.sort().join('\n'));
}

/** The content-hash version of a snapshot (its `version` field is left out): the version of its resources. */
export function snapshotVersion(snapshot: Omit<SnapshotInput, 'version'> & { version?: string }): string {
  return versionOfResources(splitSnapshot(snapshot));
}

type ListenerInput = SnapshotInput['listeners'][number];
type ClusterInput = SnapshotInput['clusters'][number];

/** A snapshot assembled from resources, and which resource each of its paths came from. */
export interface AssembledSnapshot {
  snapshot: SnapshotInput;
  /** The resource a field path such as `listeners[1].virtualHosts[0]` or `clusters[3].port` belongs to. */
  resourceAt(path: string): DiscoveryResourceRef | undefined;
}

/** One problem that keeps a set of resources from making a snapshot. */
export interface AssemblyIssue {
  ref: DiscoveryResourceRef;
  message: string;
}

/**
 * Puts validated resources back together: each listener with its route table, each cluster with its
 * endpoints (both ordered by name), the egress policy and telemetry settings. A listener or cluster without
 * its other half, or a half without its listener or cluster, is an issue and no snapshot is made.
 */
export function assembleSnapshot(
  version: string,
  resources: Iterable<{ type: ResourceType; name: string; resource: unknown }>,
): { assembled: AssembledSnapshot; issues: [] } | { assembled: undefined; issues: AssemblyIssue[] } {
  const byType = new Map<ResourceType, Map<string, unknown>>(RESOURCE_TYPES.map((t) => [t, new Map()]));
  for (const r of resources) byType.get(r.type)?.set(r.name, r.resource);
  const get = (type: ResourceType) => byType.get(type) as Map<string, unknown>;
  const issues: AssemblyIssue[] = [];
  const pair = (whole: ResourceType, part: ResourceType, what: string) => {
    for (const name of get(whole).keys())
      if (!get(part).has(name))
        issues.push({ ref: { type: whole, name }, message: `${whole} "${name}" came without its ${what}` });
    for (const name of get(part).keys())
      if (!get(whole).has(name))
        issues.push({ ref: { type: part, name }, message: `${part} "${name}" belong to no ${whole}` });
  };
  pair('listener', 'routes', 'route table (routes resource)');
  pair('cluster', 'endpoints', 'endpoints resource');
  if (issues.length > 0) return { assembled: undefined, issues };

  const listenerNames = [...get('listener').keys()].sort();
  const clusterNames = [...get('cluster').keys()].sort();
  const listeners = listenerNames.map(
    (name) =>
      ({
        ...(get('listener').get(name) as object),
        virtualHosts: (get('routes').get(name) as { virtualHosts: unknown }).virtualHosts,
      }) as ListenerInput,
  );
  const clusters = clusterNames.map(
    (name) =>
      ({
        ...(get('cluster').get(name) as object),
        endpoints: (get('endpoints').get(name) as { endpoints: unknown }).endpoints,
      }) as ClusterInput,
  );
  const snapshot: SnapshotInput = { version, listeners, clusters };
  const egress = get('egress').get(EGRESS_RESOURCE_NAME);
  if (egress !== undefined) snapshot.egress = egress as SnapshotInput['egress'];
  const telemetry = get('telemetry').get(TELEMETRY_RESOURCE_NAME);
  if (telemetry !== undefined) snapshot.telemetry = telemetry as SnapshotInput['telemetry'];
  const peers = get('peers').get(PEERS_RESOURCE_NAME);
  if (peers !== undefined) snapshot.peers = (peers as { peers: SnapshotInput['peers'] }).peers;

  const resourceAt = (path: string): DiscoveryResourceRef | undefined => {
    const m = /^(listeners|clusters)\[(\d+)\](\.(virtualHosts|endpoints)\b)?/.exec(path);
    if (m) {
      const index = Number(m[2]);
      if (m[1] === 'listeners') {
        const name = listenerNames[index];
        return name === undefined ? undefined : { type: m[4] ? 'routes' : 'listener', name };
      }
      const name = clusterNames[index];
      return name === undefined ? undefined : { type: m[4] ? 'endpoints' : 'cluster', name };
    }
    if (/^egress\b/.test(path)) return { type: 'egress', name: EGRESS_RESOURCE_NAME };
    if (/^telemetry\b/.test(path)) return { type: 'telemetry', name: TELEMETRY_RESOURCE_NAME };
    if (/^peers\b/.test(path)) return { type: 'peers', name: PEERS_RESOURCE_NAME };
    return undefined;
  };
  return { assembled: { snapshot, resourceAt }, issues: [] };
}

/**
 * What takes a proxy holding `held` (key -> version) to `wanted`: the resources that are new or whose
 * version differs, and the ones it holds that are no longer wanted.
 */
export function resourceDelta(
  held: ReadonlyMap<string, string>,
  wanted: Iterable<DiscoveryResource>,
): { resources: DiscoveryResource[]; removed: DiscoveryResourceRef[] } {
  const resources: DiscoveryResource[] = [];
  const kept = new Set<string>();
  for (const r of wanted) {
    const key = discoveryKey(r);
    kept.add(key);
    if (held.get(key) !== r.version) resources.push(r);
  }
  const removed: DiscoveryResourceRef[] = [];
  for (const key of held.keys()) {
    if (kept.has(key)) continue;
    const slash = key.indexOf('/');
    removed.push({ type: key.slice(0, slash) as ResourceType, name: key.slice(slash + 1) });
  }
  return { resources, removed };
}
