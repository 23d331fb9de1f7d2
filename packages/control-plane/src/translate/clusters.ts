// Clusters: Istio's `outbound|port|subset|host` naming, endpoints filtered by subset labels, and the
// DestinationRule traffic policy and HealthCheck turned into the snapshot's cluster settings.
import {
  type CircuitBreakers,
  type Cluster,
  type Endpoint,
  type HealthCheck,
  type NodeInfo,
  type OutlierDetection,
  PASSTHROUGH_CLUSTER,
  Ports,
  type SnapshotInput,
} from '@strait/api';
import { canonicalHost, durationMs, type Resource, type TrafficPolicy } from '@strait/api/resources';
import { egressGatewayEndpoints, labelsMatch, type MeshIndex } from './mesh-index.ts';
import { applyClientTls, egressGatewayTls, meshServiceTls } from './security.ts';

type ClusterInput = SnapshotInput['clusters'][number];

export function outboundClusterName(port: number, subset: string | undefined, host: string): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

/** Collects the clusters one proxy's routes refer to, building each once. */
export class ClusterSet {
  readonly #index: MeshIndex;
  readonly #node: NodeInfo;
  readonly #clusters = new Map<string, ClusterInput>();

  constructor(index: MeshIndex, node: NodeInfo) {
    this.#index = index;
    this.#node = node;
  }

  add(cluster: ClusterInput): string {
    if (!this.#clusters.has(cluster.name)) this.#clusters.set(cluster.name, cluster);
    return cluster.name;
  }

  /** The cluster for a route destination; returns its name. */
  destination(
    hostText: string,
    subset: string | undefined,
    port: number | undefined,
    namespace: string,
  ): string {
    const host = canonicalHost(hostText, namespace);
    const external = this.#index.externals.get(host);
    const servicePort = port ?? external?.port ?? Ports.meshService;
    const name = outboundClusterName(servicePort, subset, host);
    if (this.#clusters.has(name)) return name;
    if (external) return this.add(this.#externalCluster(name, host, servicePort, subset, external.entry));
    return this.add(this.#meshCluster(name, host, subset, servicePort));
  }

  passthrough(): string {
    return this.add({ name: PASSTHROUGH_CLUSTER, type: 'ORIGINAL_DST', endpoints: [] });
  }

  list(): ClusterInput[] {
    return [...this.#clusters.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  #meshCluster(name: string, host: string, subset: string | undefined, port: number): ClusterInput {
    const all = this.#index.services.get(host) ?? [];
    const dr = this.#index.destinationRules.get(host);
    const subsetSpec = subset ? dr?.spec.subsets?.find((s) => s.name === subset) : undefined;
    const endpoints = subsetSpec ? all.filter((e) => labelsMatch(subsetSpec.labels, e.labels ?? {})) : all;
    const cluster: ClusterInput = {
      name,
      type: 'STATIC',
      service: host,
      endpoints: endpoints.map(copyEndpoint),
    };
    const tls = meshServiceTls(this.#index, host, this.#index.serviceNamespaces.get(host) ?? 'default');
    if (tls) cluster.tls = tls;
    const policy = mergePolicies(dr?.spec.trafficPolicy, subsetSpec?.trafficPolicy);
    applyTrafficPolicy(cluster, policy);
    applyClientTls(cluster, policy, port, tls);
    const hc = this.#index.healthChecks.get(host);
    if (hc) cluster.healthCheck = healthCheckOf(hc);
    return cluster;
  }

  /** An external host: through the egress gateway, or (on the egress gateway itself) direct. */
  #externalCluster(
    name: string,
    host: string,
    port: number,
    subset: string | undefined,
    entry: Resource<'ServiceEntry'>,
  ): ClusterInput {
    const dr = this.#index.destinationRules.get(host);
    const subsetSpec = subset ? dr?.spec.subsets?.find((s) => s.name === subset) : undefined;
    let cluster: ClusterInput;
    if (this.#node.role !== 'egress') {
      cluster = {
        name,
        type: 'STATIC',
        service: host,
        endpoints: egressGatewayEndpoints(this.#index),
        forwardProxy: true,
      };
      const tls = egressGatewayTls(this.#index);
      if (tls) cluster.tls = tls;
    } else if (entry.spec.endpoints && entry.spec.endpoints.length > 0 && entry.spec.resolution !== 'NONE') {
      const sePort = entry.spec.ports.find((p) => p.number === port) ?? entry.spec.ports[0];
      const endpoints = entry.spec.endpoints
        .filter((e) => !subsetSpec || labelsMatch(subsetSpec.labels, e.labels ?? {}))
        .map((e) => {
          const endpoint: Endpoint = {
            address: e.address,
            port: (sePort && e.ports?.[sePort.name]) ?? sePort?.targetPort ?? port,
            weight: e.weight ?? 1,
          };
          if (e.labels) endpoint.labels = e.labels;
          return endpoint;
        })
        .sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port);
      cluster = { name, type: 'STATIC', service: host, endpoints };
    } else {
      cluster = { name, type: 'ORIGINAL_DST', service: host, endpoints: [] };
    }
    const policy = mergePolicies(dr?.spec.trafficPolicy, subsetSpec?.trafficPolicy);
    applyTrafficPolicy(cluster, policy);
    applyClientTls(cluster, policy, port, cluster.tls, this.#node.role !== 'egress', host);
    const hc = this.#index.healthChecks.get(host);
    if (hc && this.#node.role === 'egress' && cluster.type === 'STATIC')
      cluster.healthCheck = healthCheckOf(hc);
    return cluster;
  }
}

function copyEndpoint(e: Endpoint): Endpoint {
  return { ...e, ...(e.labels ? { labels: { ...e.labels } } : {}) };
}

/** Istio merges a subset's policy over the rule's, one top-level field at a time. */
function mergePolicies(
  base: TrafficPolicy | undefined,
  over: TrafficPolicy | undefined,
): TrafficPolicy | undefined {
  if (!base) return over;
  if (!over) return base;
  return { ...base, ...over };
}

function applyTrafficPolicy(cluster: ClusterInput, policy: TrafficPolicy | undefined): void {
  if (!policy) return;
  const lb = policy.loadBalancer;
  if (lb?.simple) cluster.lbPolicy = lb.simple === 'LEAST_CONN' ? 'LEAST_REQUEST' : lb.simple;
  if (lb?.consistentHash) {
    cluster.lbPolicy = 'CONSISTENT_HASH';
    const h = lb.consistentHash;
    if (h.httpHeaderName) cluster.hashPolicy = { header: h.httpHeaderName.toLowerCase() };
    else if (h.httpCookie) cluster.hashPolicy = { cookie: h.httpCookie.name };
    else cluster.hashPolicy = { sourceIp: true };
  }
  const pool = policy.connectionPool;
  if (pool) {
    const breakers: CircuitBreakers = {};
    if (pool.tcp?.maxConnections !== undefined) breakers.maxConnections = pool.tcp.maxConnections;
    if (pool.http?.http1MaxPendingRequests !== undefined)
      breakers.maxPendingRequests = pool.http.http1MaxPendingRequests;
    if (pool.http?.http2MaxRequests !== undefined) breakers.maxRequests = pool.http.http2MaxRequests;
    if (pool.http?.maxRetries !== undefined) breakers.maxRetries = pool.http.maxRetries;
    if (Object.keys(breakers).length > 0) cluster.circuitBreakers = breakers;
    if (pool.tcp?.connectTimeout) cluster.connectTimeoutMs = Math.max(1, durationMs(pool.tcp.connectTimeout));
    if (pool.http?.idleTimeout) cluster.idleTimeoutMs = Math.max(1, durationMs(pool.http.idleTimeout));
  }
  const od = policy.outlierDetection;
  if (od) {
    // Istio's defaults: 10 s interval, 30 s base ejection, at most 10% ejected.
    const outlier: OutlierDetection = {
      intervalMs: Math.max(1, durationMs(od.interval ?? '10s')),
      baseEjectionTimeMs: Math.max(1, durationMs(od.baseEjectionTime ?? '30s')),
      maxEjectionPercent: od.maxEjectionPercent ?? 10,
    };
    if (od.consecutive5xxErrors !== undefined) outlier.consecutive5xx = od.consecutive5xxErrors;
    if (od.consecutiveGatewayErrors !== undefined)
      outlier.consecutiveGatewayErrors = od.consecutiveGatewayErrors;
    cluster.outlierDetection = outlier;
  }
}

export function healthCheckOf(hc: Resource<'HealthCheck'>): HealthCheck {
  const spec = hc.spec;
  const out: HealthCheck = {
    path: spec.path,
    intervalMs: Math.max(10, durationMs(spec.interval)),
    timeoutMs: Math.max(1, durationMs(spec.timeout)),
    healthyThreshold: spec.healthyThreshold,
    unhealthyThreshold: spec.unhealthyThreshold,
  };
  if (spec.expectedStatuses) out.expectedStatuses = spec.expectedStatuses.map((r) => ({ ...r }));
  if (spec.jitter) out.jitterMs = durationMs(spec.jitter);
  return out;
}

export type { Cluster };
