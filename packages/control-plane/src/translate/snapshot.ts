// One snapshot per proxy, by role: the ingress gateway's front door, a sidecar's inbound and outbound
// listeners with its egress policy (scoped by the Sidecar resource that applies), and the egress gateway's
// allow-list listener. The version is the content hash of the snapshot's discovery resources.
import {
  type EgressRule,
  type KnownPeer,
  type NodeInfo,
  type PathNormalization,
  Ports,
  peerOfNode,
  type SnapshotInput,
  snapshotVersion,
} from '@strait/api';
import { canonicalHost, hostPatternCovers, meshServiceDomains } from '@strait/api/resources';
import { listenerAuthorization } from './authorization.ts';
import { ClusterSet } from './clusters.ts';
import {
  type ExternalHost,
  gatewaysFor,
  indexMesh,
  isMeshBound,
  type MeshIndex,
  type MeshState,
  virtualServicesBoundTo,
} from './mesh-index.ts';
import { defaultRoute, tokenBucketOf, virtualServiceRoutes } from './routes.ts';
import { meshMode, type SidecarScope, scopeOf } from './scope.ts';
import { listenerTls } from './security.ts';
import { TelemetrySettingsCache } from './telemetry.ts';

type ListenerInput = SnapshotInput['listeners'][number];
type VirtualHostInput = ListenerInput['virtualHosts'][number];
type ClusterInput = SnapshotInput['clusters'][number];
export type VersionedSnapshot = SnapshotInput & { version: string };

/**
 * Translates the mesh for one proxy; the version is a content hash. Pass the same `shared` for every
 * proxy of one push: sidecars that differ only in their inbound side (address, app port, workload)
 * then share one translation of everything outbound (listener, clusters, egress policy).
 */
export function snapshotFor(
  index: MeshIndex,
  node: NodeInfo,
  shared: SharedTranslation = new SharedTranslation(index),
): VersionedSnapshot {
  if (node.role === 'sidecar') return sidecarSnapshot(index, node, shared);
  const clusters = new ClusterSet(index, node);
  let listeners: ListenerInput[];
  let egress: SnapshotInput['egress'];
  if (node.role === 'ingress') listeners = [ingressListener(index, node, clusters)];
  else {
    listeners = [egressListener(index, node, clusters)];
    egress = { mode: meshMode(index), allow: allowList(index, everything) };
  }
  listeners = listeners.map((l) => withMeshSettings(index, l));
  const content: Omit<SnapshotInput, 'version'> = {
    listeners,
    clusters: clusters.list(),
    telemetry: shared.telemetry.for(node),
  };
  if (egress) content.egress = egress;
  return { version: snapshotVersion(content), ...content };
}

/** What every sidecar with the same namespace, outbound port and Sidecar resource gets. */
interface SidecarOutbound {
  listener: ListenerInput;
  /** Sorted by name, like `ClusterSet.list()`. */
  clusters: ClusterInput[];
  egress: NonNullable<SnapshotInput['egress']>;
  /** Every workload in the registry: the callers a sidecar may label by name. */
  peers: KnownPeer[];
}

/** Per-push memo of the translation that sidecars share; build a new one whenever the index changes. */
export class SharedTranslation {
  readonly index: MeshIndex;
  /** Telemetry settings may differ by workload (a Telemetry's selector), so they are kept apart. */
  readonly telemetry: TelemetrySettingsCache;
  readonly #sidecars = new Map<string, SidecarOutbound>();

  constructor(index: MeshIndex) {
    this.index = index;
    this.telemetry = new TelemetrySettingsCache(index);
  }

  sidecarOutbound(node: NodeInfo, scope: SidecarScope): SidecarOutbound {
    const outboundPort = node.ports?.outbound ?? Ports.sidecarOutbound;
    const sidecar = scope.sidecar ? `${scope.sidecar.metadata.namespace}/${scope.sidecar.metadata.name}` : '';
    const key = `${node.namespace ?? 'default'}\n${outboundPort}\n${sidecar}`;
    let part = this.#sidecars.get(key);
    if (!part) {
      // Outbound translation reads only the node's namespace, outbound port, role and Sidecar.
      const clusters = new ClusterSet(this.index, node);
      const listener = withMeshSettings(this.index, outboundListener(this.index, node, clusters, scope));
      part = {
        listener,
        clusters: clusters.list(),
        egress: { mode: scope.mode, allow: allowList(this.index, scope) },
        peers: knownPeers(this.index),
      };
      this.#sidecars.set(key, part);
    }
    return part;
  }
}

function sidecarSnapshot(index: MeshIndex, node: NodeInfo, shared: SharedTranslation): VersionedSnapshot {
  const outbound = shared.sidecarOutbound(node, scopeOf(index, node));
  const inbound = inboundParts(index, node);
  const content = {
    listeners: [inbound.listener, outbound.listener],
    clusters: mergeByName(outbound.clusters, inbound.clusters),
    telemetry: shared.telemetry.for(node),
    egress: outbound.egress,
    peers: outbound.peers,
  };
  // The shared parts' resources were split and hashed once, for the first sidecar that got them.
  return { version: snapshotVersion(content), ...content };
}

/**
 * A sidecar's inbound side depends only on the proxy and the mesh's path normalization: kept (and split and
 * hashed) once per node and mode, across configuration changes.
 */
const inboundOf = new WeakMap<NodeInfo, Map<string, { listener: ListenerInput; clusters: ClusterInput[] }>>();

function inboundParts(
  index: MeshIndex,
  node: NodeInfo,
): { listener: ListenerInput; clusters: ClusterInput[] } {
  const appPort = node.appPort ?? Ports.app;
  const tls = listenerTls(index, node, appPort);
  const authorization = listenerAuthorization(index, node, appPort);
  const policies = authorization ? JSON.stringify(authorization) : '';
  const mode = `${index.mesh.pathNormalization?.normalization ?? ''}/${tls?.mode ?? ''}/${policies}`;
  let byMode = inboundOf.get(node);
  if (!byMode) {
    byMode = new Map();
    inboundOf.set(node, byMode);
  }
  let parts = byMode.get(mode);
  if (!parts) {
    const own = new ClusterSet(index, node);
    const listener = withMeshSettings(index, inboundListener(node, own));
    if (tls) listener.tls = tls;
    if (authorization) listener.authorization = authorization;
    parts = { listener, clusters: own.list() };
    byMode.clear();
    byMode.set(mode, parts);
  }
  return parts;
}

/** The scope of a proxy no Sidecar resource applies to: it sees every host. */
const everything: Pick<SidecarScope, 'sees'> = { sees: () => true };

/** The distinct workloads of the registry's proxies, as their peer labels, sorted. */
function knownPeers(index: MeshIndex): KnownPeer[] {
  const byKey = new Map<string, KnownPeer>();
  for (const node of index.proxies) {
    const peer = peerOfNode(node);
    const key = `${peer.namespace}/${peer.workload}`;
    if (!byKey.has(key)) byKey.set(key, peer);
  }
  return [...byKey.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, peer]) => peer);
}

/** Mesh-wide listener settings from MeshConfig: path normalization, when it is set to other than BASE. */
function withMeshSettings(index: MeshIndex, listener: ListenerInput): ListenerInput {
  const mode = index.mesh.pathNormalization?.normalization;
  if (mode === undefined || mode === 'DEFAULT' || mode === 'BASE') return listener;
  return { ...listener, pathNormalization: mode satisfies PathNormalization };
}

/** Merges two name-sorted cluster lists into one, as one ClusterSet would have listed them. */
function mergeByName(a: ClusterInput[], b: ClusterInput[]): ClusterInput[] {
  if (b.length === 0) return a.slice();
  return [...a, ...b].sort((x, y) => x.name.localeCompare(y.name));
}

/** Convenience for tests and one-off use: index the mesh and translate for one proxy. */
export function translate(state: MeshState, node: NodeInfo): VersionedSnapshot {
  return snapshotFor(indexMesh(state), node);
}

/** The external hosts the proxy may call, with their ports and how they resolve (its egress allow-list). */
function allowList(index: MeshIndex, scope: Pick<SidecarScope, 'sees'>): EgressRule[] {
  const rules: EgressRule[] = [];
  for (const ext of sortedExternals(index)) {
    if (!scope.sees(ext.host, ext.entry.metadata.namespace, true)) continue;
    const spec = ext.entry.spec;
    const rule: EgressRule = {
      host: ext.host,
      ports: spec.ports.map((p) => p.number),
      resolution: spec.resolution ?? 'DNS',
    };
    if (spec.endpoints && spec.endpoints.length > 0) {
      rule.endpoints = spec.endpoints.map((e) => {
        const targets = spec.ports
          .map((p) => e.ports?.[p.name] ?? p.targetPort)
          .filter((p) => p !== undefined);
        return targets[0] !== undefined ? { address: e.address, port: targets[0] } : { address: e.address };
      });
    }
    rules.push(rule);
  }
  return rules;
}

function inboundListener(node: NodeInfo, clusters: ClusterSet): ListenerInput {
  const appPort = node.appPort ?? Ports.app;
  const cluster = clusters.add({
    name: `inbound|${appPort}||`,
    type: 'STATIC',
    ...(node.service ? { service: node.service } : {}),
    endpoints: [
      {
        address: node.appAddress ?? node.address ?? '127.0.0.1',
        port: appPort,
        weight: 1,
        workload: node.workload,
        namespace: node.namespace ?? 'default',
      },
    ],
  });
  return {
    name: 'virtualInbound',
    kind: 'inbound',
    port: node.ports?.inbound ?? Ports.sidecarInbound,
    virtualHosts: [
      {
        name: `inbound|http|${appPort}`,
        domains: ['*'],
        routes: [
          {
            name: 'default',
            match: { path: { prefix: '/' } },
            route: { clusters: [{ cluster, weight: 100 }] },
          },
        ],
      },
    ],
  };
}

/** Routes of the mesh VirtualServices naming `host` (merged in file order), or undefined. */
function meshRoutesFor(
  index: MeshIndex,
  host: string,
  clusters: ClusterSet,
): VirtualHostInput['routes'] | undefined {
  const bound = index.virtualServices.filter(
    (vs) => isMeshBound(vs) && vs.spec.hosts.some((h) => canonicalHost(h, vs.metadata.namespace) === host),
  );
  if (bound.length === 0) return undefined;
  return bound.flatMap((vs) => virtualServiceRoutes(index, vs, clusters));
}

function outboundListener(
  index: MeshIndex,
  node: NodeInfo,
  clusters: ClusterSet,
  scope: SidecarScope,
): ListenerInput {
  const virtualHosts: VirtualHostInput[] = [];
  const ns = node.namespace ?? 'default';
  for (const service of [...index.services.keys()].sort()) {
    if (!scope.sees(service, index.serviceNamespaces.get(service) ?? 'default', false)) continue;
    const routes = meshRoutesFor(index, service, clusters) ?? [
      defaultRoute(clusters.destination(service, undefined, Ports.meshService, ns)),
    ];
    virtualHosts.push({
      name: `${service}:${Ports.meshService}`,
      domains: meshServiceDomains(service, ns),
      routes,
    });
  }
  for (const ext of sortedExternals(index)) {
    if (!scope.sees(ext.host, ext.entry.metadata.namespace, true)) continue;
    const routes = meshRoutesFor(index, ext.host, clusters) ?? [
      defaultRoute(clusters.destination(ext.host, undefined, ext.port, ns)),
    ];
    virtualHosts.push({ name: `${ext.host}:${ext.port}`, domains: [ext.host], routes });
  }
  if (scope.mode === 'ALLOW_ANY') virtualHosts.push(passthroughHost(clusters));
  return {
    name: 'virtualOutbound',
    kind: 'outbound',
    port: node.ports?.outbound ?? Ports.sidecarOutbound,
    virtualHosts,
  };
}

function sortedExternals(index: MeshIndex): ExternalHost[] {
  return [...index.externals.values()].sort((a, b) => a.host.localeCompare(b.host));
}

function passthroughHost(clusters: ClusterSet): VirtualHostInput {
  return {
    name: 'allow_any',
    domains: ['*'],
    routes: [
      {
        name: 'allow_any',
        match: { path: { prefix: '/' } },
        route: { clusters: [{ cluster: clusters.passthrough(), weight: 100 }] },
      },
    ],
  };
}

/** Virtual hosts from the VirtualServices bound to this gateway proxy, merged per host. */
function gatewayHosts(index: MeshIndex, node: NodeInfo, clusters: ClusterSet): Map<string, VirtualHostInput> {
  const gateways = gatewaysFor(index, node);
  const hosts = new Map<string, VirtualHostInput>();
  const served = gateways.flatMap((g) => g.spec.servers.flatMap((s) => s.hosts));
  for (const vs of virtualServicesBoundTo(index, gateways)) {
    const routes = virtualServiceRoutes(index, vs, clusters);
    for (const host of vs.spec.hosts) {
      if (!served.some((pattern) => hostPatternCovers(pattern, host))) continue;
      const key = host.toLowerCase();
      const existing = hosts.get(key);
      if (existing) existing.routes.push(...structuredClone(routes));
      else hosts.set(key, { name: key, domains: [key], routes: structuredClone(routes) });
    }
  }
  return hosts;
}

function ingressListener(index: MeshIndex, node: NodeInfo, clusters: ClusterSet): ListenerInput {
  const hosts = gatewayHosts(index, node, clusters);
  const listener: ListenerInput = {
    name: `0.0.0.0_${Ports.gateway}`,
    kind: 'gateway',
    port: Ports.gateway,
    virtualHosts: [...hosts.values()].sort(compareHosts),
  };
  const limit = gatewayRateLimit(index, node);
  if (limit) listener.rateLimit = limit;
  const authorization = listenerAuthorization(index, node, listener.port);
  if (authorization) listener.authorization = authorization;
  return listener;
}

function gatewayRateLimit(index: MeshIndex, node: NodeInfo) {
  const names = new Set(gatewaysFor(index, node).map((g) => `${g.metadata.namespace}/${g.metadata.name}`));
  const rl = index.rateLimits.find(
    (r) =>
      r.spec.targetRef.kind === 'Gateway' && names.has(`${r.metadata.namespace}/${r.spec.targetRef.name}`),
  );
  return rl ? tokenBucketOf(rl) : undefined;
}

function egressListener(index: MeshIndex, node: NodeInfo, clusters: ClusterSet): ListenerInput {
  const bound = gatewayHosts(index, node, clusters);
  const virtualHosts: VirtualHostInput[] = [];
  const ns = node.namespace ?? 'default';
  for (const ext of sortedExternals(index)) {
    const fromGateway = [...bound.values()].find((vh) =>
      vh.domains.some((d) => hostPatternCovers(d, ext.host)),
    );
    const routes = fromGateway?.routes ?? [
      defaultRoute(clusters.destination(ext.host, undefined, ext.port, ns)),
    ];
    virtualHosts.push({ name: `${ext.host}:${ext.port}`, domains: [ext.host], routes });
  }
  if (meshMode(index) === 'ALLOW_ANY') virtualHosts.push(passthroughHost(clusters));
  const listener: ListenerInput = {
    name: `0.0.0.0_${Ports.egress}`,
    kind: 'egress',
    port: node.ports?.egress ?? Ports.egress,
    virtualHosts,
  };
  const tls = listenerTls(index, node, listener.port);
  if (tls) listener.tls = tls;
  const limit = gatewayRateLimit(index, node);
  if (limit) listener.rateLimit = limit;
  const authorization = listenerAuthorization(index, node, listener.port);
  if (authorization) listener.authorization = authorization;
  return listener;
}

/** Exact hosts first, then wildcards, `*` last. */
function compareHosts(a: VirtualHostInput, b: VirtualHostInput): number {
  const rank = (vh: VirtualHostInput) => (vh.name === '*' ? 2 : vh.name.includes('*') ? 1 : 0);
  return rank(a) - rank(b) || a.name.localeCompare(b.name);
}
