// The service graph from a traffic reading: a node per gateway, per service version (workload), per
// external host and per denied egress destination; an edge per caller → callee pair with its rate,
// 5xx share, p99 latency and health, as the calling (source-reporting) proxy measured them.
import {
  FAILING_ERROR_RATE,
  type GraphEdge,
  type GraphNode,
  type GraphView,
  type Health,
  type NodeInfo,
} from '@strait/api';
import type { Resource } from '@strait/api/resources';
import { keyOf, type Series, type TrafficReading } from './reading.ts';

export interface GraphInputs {
  reading: TrafficReading;
  /** Registered proxies: every gateway and service version gets a node, with or without traffic. */
  proxies: readonly NodeInfo[];
  resources: readonly Resource[];
}

const UNKNOWN = 'unknown';

export function healthOf(rps: number, errorRate: number): Health {
  if (rps <= 0) return 'idle';
  if (errorRate >= FAILING_ERROR_RATE) return 'failing';
  return errorRate > 0 ? 'degraded' : 'healthy';
}

const HEALTH_ORDER: Health[] = ['idle', 'healthy', 'degraded', 'failing'];
function worse(a: Health, b: Health): Health {
  return HEALTH_ORDER.indexOf(a) >= HEALTH_ORDER.indexOf(b) ? a : b;
}

/** The `q` quantile of a histogram given as (upper bound, rate) pairs, interpolated like histogram_quantile. */
export function quantile(q: number, buckets: readonly { le: number; rate: number }[]): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.rate ?? 0;
  if (total <= 0 || sorted.at(-1)?.le !== Number.POSITIVE_INFINITY) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of sorted) {
    if (b.rate >= rank) {
      // In the +Inf bucket the answer is the highest finite bound, as Prometheus answers.
      if (b.le === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = b.rate - lowerCount;
      return inBucket <= 0 ? b.le : lowerBound + ((b.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = b.le;
    lowerCount = b.rate;
  }
  return lowerBound;
}

export function buildGraph({ reading, proxies, resources }: GraphInputs): GraphView {
  const nodes = new Map<string, GraphNode>();
  const gatewayKind = new Map<string, 'ingress' | 'egress'>();
  for (const p of proxies) if (p.role !== 'sidecar') gatewayKind.set(p.workload, p.role);

  const workloadNode = (workload: string, app: string, version: string): GraphNode => {
    const id = `workload:${workload}`;
    let node = nodes.get(id);
    if (!node) {
      const kind = gatewayKind.get(workload) ?? 'workload';
      const label =
        kind !== 'workload' || app === UNKNOWN ? workload : version === UNKNOWN ? app : `${app} ${version}`;
      node = { id, kind, label, workload, rps: 0, health: 'idle' };
      if (kind === 'workload' && app !== UNKNOWN) node.service = app;
      if (kind === 'workload' && version !== UNKNOWN) node.version = version;
      nodes.set(id, node);
    }
    return node;
  };
  const hostNode = (host: string, kind: 'external' | 'denied'): GraphNode => {
    const id = `${kind}:${host}`;
    let node = nodes.get(id);
    if (!node) {
      node = { id, kind, label: host, host, rps: 0, health: 'idle' };
      nodes.set(id, node);
    }
    return node;
  };

  for (const p of proxies)
    workloadNode(
      p.workload,
      p.role === 'sidecar' ? (p.service ?? p.workload) : p.workload,
      p.version ?? UNKNOWN,
    );
  for (const r of resources)
    if (r.kind === 'ServiceEntry')
      for (const host of (r as Resource<'ServiceEntry'>).spec.hosts) hostNode(host, 'external');

  // Edges, from the calling side's numbers.
  interface Acc {
    edge: GraphEdge;
    errors: number;
    buckets: Map<number, number>;
  }
  const edges = new Map<string, Acc>();
  const endpointsOf = (
    labels: Record<string, string>,
  ): { source: GraphNode; target: GraphNode } | undefined => {
    const source = workloadNode(
      labels.source_workload ?? UNKNOWN,
      labels.source_app ?? UNKNOWN,
      labels.source_version ?? UNKNOWN,
    );
    const destWorkload = labels.destination_workload ?? UNKNOWN;
    const destService = labels.destination_service ?? UNKNOWN;
    // Neither workload nor service known: refused before routing (a denied egress, no route); the
    // egress counters show those.
    if (source.workload === UNKNOWN || (destWorkload === UNKNOWN && destService === UNKNOWN))
      return undefined;
    const target =
      destWorkload !== UNKNOWN
        ? workloadNode(destWorkload, labels.destination_app ?? UNKNOWN, labels.destination_version ?? UNKNOWN)
        : hostNode(destService, 'external');
    return { source, target };
  };
  const accOf = (source: GraphNode, target: GraphNode): Acc => {
    const id = `${source.id}->${target.id}`;
    let acc = edges.get(id);
    if (!acc) {
      acc = {
        edge: { id, source: source.id, target: target.id, rps: 0, errorRate: 0, health: 'idle' },
        errors: 0,
        buckets: new Map(),
      };
      edges.set(id, acc);
    }
    return acc;
  };

  for (const s of reading.requests) {
    const ends = endpointsOf(s.labels);
    if (!ends) continue;
    if (s.labels.reporter === 'destination') {
      if (s.labels.connection_security_policy === 'mutual_tls' && s.value > 0)
        accOf(ends.source, ends.target).edge.mtls = true;
      continue;
    }
    const acc = accOf(ends.source, ends.target);
    acc.edge.rps += s.value;
    if ((s.labels.response_code ?? '').startsWith('5')) acc.errors += s.value;
  }
  for (const s of reading.buckets) {
    const ends = endpointsOf(s.labels);
    if (!ends) continue;
    const le = Number(s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : s.labels.le);
    if (Number.isNaN(le)) continue;
    const acc = accOf(ends.source, ends.target);
    acc.buckets.set(le, (acc.buckets.get(le) ?? 0) + s.value);
  }

  const out: GraphEdge[] = [];
  for (const { edge, errors, buckets } of edges.values()) {
    edge.errorRate = edge.rps > 0 ? errors / edge.rps : 0;
    edge.health = healthOf(edge.rps, edge.errorRate);
    const p99 = quantile(
      0.99,
      [...buckets].map(([le, rate]) => ({ le, rate })),
    );
    if (p99 !== undefined && edge.rps > 0) edge.p99Ms = Math.round(p99 * 10) / 10;
    const target = nodes.get(edge.target) as GraphNode;
    target.rps += edge.rps;
    target.health = worse(target.health, edge.health);
    // An edge kept only for its mTLS flag, or one whose traffic has stopped, still shows the path.
    out.push(edge);
  }

  // Denied egress destinations: an edge from the proxy that refused the request.
  const byId = new Map(proxies.map((p) => [p.id, p]));
  const denied = new Map<string, GraphEdge>();
  for (const c of reading.egressDenied) {
    if (c.total <= 0) continue;
    const proxy = byId.get(c.labels.proxy_id ?? '');
    const workload = proxy?.workload ?? c.labels.workload ?? UNKNOWN;
    const source = workloadNode(
      workload,
      proxy?.role === 'sidecar' ? (proxy.service ?? workload) : workload,
      proxy?.version ?? UNKNOWN,
    );
    const host = c.labels.host ?? UNKNOWN;
    const target = hostNode(host, 'denied');
    const id = `${source.id}->${target.id}`;
    let edge = denied.get(id);
    if (!edge) {
      edge = {
        id,
        source: source.id,
        target: target.id,
        rps: 0,
        errorRate: 0,
        health: 'idle',
        denied: { total: 0, reasons: [] },
      };
      denied.set(id, edge);
    }
    edge.rps += c.rate;
    const d = edge.denied as { total: number; reasons: string[] };
    d.total += c.total;
    const reason = c.labels.reason ?? UNKNOWN;
    if (!d.reasons.includes(reason)) d.reasons.push(reason);
    edge.health = edge.rps > 0 ? 'failing' : 'idle';
    target.rps += c.rate;
    target.health = worse(target.health, edge.health);
  }
  out.push(...denied.values());
  // A node nobody calls (the ingress gateway: its callers are outside the mesh) shows how its calls go.
  const called = new Set(out.map((e) => e.target));
  for (const e of out) {
    const source = nodes.get(e.source);
    if (source && !called.has(source.id) && !e.denied) source.health = worse(source.health, e.health);
  }

  addEndpointHealth(nodes, reading, resources);
  const nodeList = [...nodes.values()].filter((n) => n.workload !== UNKNOWN);
  return {
    nodes: nodeList.sort((a, b) => a.id.localeCompare(b.id)),
    edges: out.sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/**
 * Marks each service version with the endpoint health its callers see: for every proxy's cluster of
 * that service (all versions, or the subset selecting this version), the fewest healthy of total.
 */
function addEndpointHealth(
  nodes: Map<string, GraphNode>,
  reading: TrafficReading,
  resources: readonly Resource[],
): void {
  const subsetVersion = new Map<string, string>();
  for (const r of resources)
    if (r.kind === 'DestinationRule') {
      const spec = (r as Resource<'DestinationRule'>).spec;
      for (const s of spec.subsets ?? []) {
        const version = s.labels?.version;
        if (version) subsetVersion.set(`${shortHost(spec.host)}|${s.name}`, version);
      }
    }
  const totals = new Map<string, number>();
  for (const t of reading.totalEndpoints) totals.set(keyOf(t.labels, ['proxy_id', 'cluster']), t.value);
  for (const h of reading.healthyEndpoints) {
    const total = totals.get(keyOf(h.labels, ['proxy_id', 'cluster']));
    const parts = (h.labels.cluster ?? '').split('|');
    if (total === undefined || total <= 0 || parts[0] !== 'outbound' || parts.length !== 4) continue;
    const service = shortHost(parts[3] as string);
    const subset = parts[2] as string;
    const version = subset ? subsetVersion.get(`${service}|${subset}`) : undefined;
    if (subset && !version) continue;
    for (const node of nodes.values()) {
      if (node.kind !== 'workload' || node.service !== service) continue;
      if (version && node.version !== version) continue;
      applyEndpoints(node, h, total);
    }
  }
}

function applyEndpoints(node: GraphNode, healthy: Series, total: number): void {
  const seen = node.endpoints;
  const ratio = healthy.value / total;
  if (seen && seen.healthy / seen.total <= ratio) return;
  node.endpoints = { healthy: healthy.value, total };
  if (healthy.value === 0) node.health = 'failing';
  else if (healthy.value < total) node.health = worse(node.health, 'degraded');
}

/** service-b.default.svc.cluster.local → service-b. */
function shortHost(host: string): string {
  return host.endsWith('.svc.cluster.local') ? (host.split('.')[0] as string) : host;
}
