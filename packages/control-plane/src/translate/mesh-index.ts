// The mesh as translation sees it: validated resources plus the registry's workloads, indexed by host.
// Built once per push and shared by every proxy's translation.
import { DEFAULT_EGRESS_WORKLOAD, type Endpoint, type NodeInfo, Ports, TLS_MODE_LABEL } from '@strait/api';
import {
  canonicalHost,
  type MeshConfigSpec,
  ofKind,
  type Resource,
  refNamespace,
  stripNamespace,
} from '@strait/api/resources';
import { peerAuthenticationMode } from './security.ts';

/** What translation needs to know about the world. */
export interface MeshState {
  resources: readonly Resource[];
  /** Proxies in the registry (connected, or disconnected but inside the grace period). */
  proxies: readonly NodeInfo[];
  /** Set when the control plane runs the mesh's CA: mesh hops are then mutual TLS. */
  security?: MeshSecurity | undefined;
}

/** What translation needs to know of the mesh's identity. */
export interface MeshSecurity {
  trustDomain: string;
}

/** A host outside the mesh that a MESH_EXTERNAL ServiceEntry allows. */
export interface ExternalHost {
  host: string;
  entry: Resource<'ServiceEntry'>;
  /** The port sidecars route through the egress gateway (the first HTTP-ish one). */
  port: number;
}

export interface MeshIndex {
  resources: readonly Resource[];
  proxies: readonly NodeInfo[];
  mesh: MeshConfigSpec;
  /** Mesh services (canonical host) -> their endpoints (with labels, for subsets). */
  services: Map<string, Endpoint[]>;
  /** Mesh services (canonical host) -> the namespace they live in (for Sidecar egress hosts). */
  serviceNamespaces: Map<string, string>;
  externals: Map<string, ExternalHost>;
  destinationRules: Map<string, Resource<'DestinationRule'>>;
  healthChecks: Map<string, Resource<'HealthCheck'>>;
  virtualServices: Resource<'VirtualService'>[];
  gateways: Resource<'Gateway'>[];
  rateLimits: Resource<'RateLimit'>[];
  sidecars: Resource<'Sidecar'>[];
  telemetries: Resource<'Telemetry'>[];
  peerAuthentications: Resource<'PeerAuthentication'>[];
  authorizationPolicies: Resource<'AuthorizationPolicy'>[];
  security: MeshSecurity | undefined;
}

/** Labels a proxy carries, for Gateway selectors and Sidecar workload selectors. */
export function proxyLabels(node: NodeInfo): Record<string, string> {
  if (node.role === 'ingress') return { istio: 'ingressgateway', app: node.workload };
  if (node.role === 'egress') return { istio: 'egressgateway', app: node.workload };
  const labels: Record<string, string> = { app: node.service ?? node.workload };
  if (node.version) labels.version = node.version;
  return labels;
}

export function labelsMatch(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/** A proxy's labels, with Istio's `security.istio.io/tlsMode: istio` when the mesh runs mutual TLS. */
function withTlsMode(
  labels: Record<string, string>,
  security: MeshSecurity | undefined,
): Record<string, string> {
  return security ? { ...labels, [TLS_MODE_LABEL]: 'istio' } : labels;
}

function sortEndpoints(endpoints: Endpoint[]): Endpoint[] {
  return endpoints.sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
}

/** The endpoint a sidecar registers for its service: the pod address at the sidecar's inbound port. */
export function sidecarEndpoint(node: NodeInfo, security?: MeshSecurity, acceptsMtls = true): Endpoint {
  const endpoint: Endpoint = {
    address: node.address ?? '127.0.0.1',
    port: node.ports?.inbound ?? Ports.sidecarInbound,
    weight: 1,
    labels: withTlsMode(proxyLabels(node), acceptsMtls ? security : undefined),
    health: 'HEALTHY',
    workload: node.workload,
    namespace: node.namespace ?? 'default',
  };
  return endpoint;
}

export function indexMesh(state: MeshState): MeshIndex {
  const { resources } = state;
  const mesh = ofKind(resources, 'MeshConfig')[0]?.spec ?? {};
  const peerAuthentications = ofKind(resources, 'PeerAuthentication');
  const services = new Map<string, Endpoint[]>();
  const serviceNamespaces = new Map<string, string>();
  const addEndpoint = (host: string, endpoint: Endpoint | undefined, namespace: string) => {
    const list = services.get(host) ?? [];
    if (endpoint) list.push(endpoint);
    services.set(host, list);
    if (!serviceNamespaces.has(host)) serviceNamespaces.set(host, hostNamespace(host, namespace));
  };

  for (const node of state.proxies) {
    if (node.role !== 'sidecar' || !node.service) continue;
    const ns = node.namespace ?? 'default';
    // Auto mTLS: clients send mutual TLS only to workloads whose PeerAuthentication does not DISABLE it.
    const mtls = peerAuthenticationMode(peerAuthentications, node, node.appPort ?? Ports.app) !== 'DISABLE';
    addEndpoint(canonicalHost(node.service, ns), sidecarEndpoint(node, state.security, mtls), ns);
  }
  const workloadEntries = ofKind(resources, 'WorkloadEntry');
  for (const we of workloadEntries) {
    const app = we.spec.labels?.app;
    if (!app) continue;
    const ns = we.metadata.namespace;
    addEndpoint(canonicalHost(app, ns), workloadEntryEndpoint(we), ns);
  }

  const externals = new Map<string, ExternalHost>();
  for (const se of ofKind(resources, 'ServiceEntry')) {
    const ns = se.metadata.namespace;
    if ((se.spec.location ?? 'MESH_EXTERNAL') === 'MESH_EXTERNAL') {
      const httpPort = se.spec.ports.find(
        (p) => p.protocol === undefined || p.protocol === 'HTTP' || p.protocol === 'HTTP2',
      );
      const port = (httpPort ?? se.spec.ports[0])?.number ?? Ports.meshService;
      for (const host of se.spec.hosts)
        externals.set(host.toLowerCase(), { host: host.toLowerCase(), entry: se, port });
      continue;
    }
    // MESH_INTERNAL: a mesh service whose endpoints are listed (or selected WorkloadEntries).
    for (const host of se.spec.hosts) {
      const canonical = canonicalHost(host, ns);
      addEndpoint(canonical, undefined, ns);
      for (const endpoint of se.spec.endpoints ?? []) {
        const firstPort = se.spec.ports[0];
        addEndpoint(
          canonical,
          {
            address: endpoint.address,
            port:
              (firstPort && endpoint.ports?.[firstPort.name]) ??
              firstPort?.targetPort ??
              firstPort?.number ??
              Ports.meshService,
            weight: endpoint.weight ?? 1,
            labels: endpoint.labels,
          },
          ns,
        );
      }
      const selector = se.spec.workloadSelector?.labels;
      if (selector)
        for (const we of workloadEntries)
          if (
            labelsMatch(selector, we.spec.labels ?? {}) &&
            canonicalHost(we.spec.labels?.app ?? '', we.metadata.namespace) !== canonical
          )
            addEndpoint(canonical, workloadEntryEndpoint(we), ns);
    }
  }

  // Hosts named by mesh VirtualServices and DestinationRules are mesh services too (maybe without endpoints yet).
  const virtualServices = ofKind(resources, 'VirtualService');
  for (const vs of virtualServices) {
    if (!isMeshBound(vs)) continue;
    for (const host of vs.spec.hosts) {
      const canonical = canonicalHost(host, vs.metadata.namespace);
      if (!externals.has(canonical) && !canonical.includes('*'))
        addEndpoint(canonical, undefined, vs.metadata.namespace);
    }
  }
  const destinationRules = new Map<string, Resource<'DestinationRule'>>();
  for (const dr of ofKind(resources, 'DestinationRule')) {
    const host = canonicalHost(dr.spec.host, dr.metadata.namespace);
    if (!destinationRules.has(host)) destinationRules.set(host, dr);
    if (!externals.has(host) && !host.includes('*')) addEndpoint(host, undefined, dr.metadata.namespace);
  }
  for (const list of services.values()) sortEndpoints(list);

  const healthChecks = new Map<string, Resource<'HealthCheck'>>();
  for (const hc of ofKind(resources, 'HealthCheck')) {
    const host = canonicalHost(hc.spec.host, hc.metadata.namespace);
    if (!healthChecks.has(host)) healthChecks.set(host, hc);
  }

  return {
    security: state.security,
    resources,
    proxies: state.proxies,
    mesh,
    services,
    serviceNamespaces,
    externals,
    destinationRules,
    healthChecks,
    virtualServices,
    gateways: ofKind(resources, 'Gateway'),
    rateLimits: ofKind(resources, 'RateLimit'),
    sidecars: ofKind(resources, 'Sidecar'),
    telemetries: ofKind(resources, 'Telemetry'),
    peerAuthentications,
    authorizationPolicies: ofKind(resources, 'AuthorizationPolicy'),
  };
}

/** A canonical host `name.ns` names its namespace; a short name lives where it was declared. */
function hostNamespace(host: string, declaredIn: string): string {
  const parts = host.split('.');
  return parts.length === 2 ? (parts[1] as string) : declaredIn;
}

function workloadEntryEndpoint(we: Resource<'WorkloadEntry'>): Endpoint {
  const ports = Object.values(we.spec.ports ?? {});
  return {
    address: we.spec.address,
    port: we.spec.ports?.http ?? ports[0] ?? Ports.meshService,
    weight: we.spec.weight ?? 1,
    labels: we.spec.labels,
    health: 'HEALTHY',
    workload: we.metadata.name,
    namespace: we.metadata.namespace,
  };
}

/** A VirtualService with no gateways, or with `mesh` among them, applies to sidecars. */
export function isMeshBound(vs: Resource<'VirtualService'>): boolean {
  return vs.spec.gateways === undefined || vs.spec.gateways.length === 0 || vs.spec.gateways.includes('mesh');
}

/** Gateways whose selector picks this proxy. */
export function gatewaysFor(index: MeshIndex, node: NodeInfo): Resource<'Gateway'>[] {
  const labels = proxyLabels(node);
  return index.gateways.filter((g) => labelsMatch(g.spec.selector, labels));
}

/** VirtualServices bound to any of the given gateways. */
export function virtualServicesBoundTo(
  index: MeshIndex,
  gateways: readonly Resource<'Gateway'>[],
): Resource<'VirtualService'>[] {
  return index.virtualServices.filter((vs) =>
    (vs.spec.gateways ?? []).some((ref) =>
      gateways.some(
        (g) =>
          g.metadata.name === stripNamespace(ref) &&
          g.metadata.namespace === refNamespace(ref, vs.metadata.namespace),
      ),
    ),
  );
}

/** The egress gateway proxies sidecars send external traffic to. */
export function egressGatewayEndpoints(index: MeshIndex): Endpoint[] {
  const workload = index.mesh.egressGateway?.workload ?? DEFAULT_EGRESS_WORKLOAD;
  return sortEndpoints(
    index.proxies
      .filter((p) => p.role === 'egress' && p.workload === workload)
      .map((p) => ({
        address: p.address ?? '127.0.0.1',
        port: p.ports?.egress ?? Ports.egress,
        weight: 1,
        labels: withTlsMode(
          proxyLabels(p),
          peerAuthenticationMode(index.peerAuthentications, p, p.ports?.egress ?? Ports.egress) === 'DISABLE'
            ? undefined
            : index.security,
        ),
        health: 'HEALTHY' as const,
        workload: p.workload,
        namespace: p.namespace ?? 'default',
      })),
  );
}
