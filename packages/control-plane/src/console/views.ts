// The console's tables from the control plane's state and a traffic reading: the proxy list, one
// proxy's routes/clusters/endpoints, the configuration (resources, splits, refusals) and egress.
import {
  type ClusterHealth,
  type ClusterRow,
  type ConfigView,
  type EgressRow,
  type EgressView,
  type EndpointView,
  type LiveHost,
  liveHealth,
  type ProxyStatus,
  type ProxyView,
  routeRows,
  type SnapshotInput,
  type SplitView,
} from '@strait/api';
import { plainResource, type Resource } from '@strait/api/resources';
import { stringify } from 'yaml';
import type { ConfigHistory } from './config-history.ts';
import type { TrafficReading } from './reading.ts';

/** Healthy/total endpoints per cluster, per proxy id. */
export function clusterHealthByProxy(reading: TrafficReading): Map<string, ClusterHealth[]> {
  const totals = new Map<string, number>();
  for (const t of reading.totalEndpoints) totals.set(`${t.labels.proxy_id}|${t.labels.cluster}`, t.value);
  const out = new Map<string, ClusterHealth[]>();
  for (const h of reading.healthyEndpoints) {
    const proxy = h.labels.proxy_id ?? '';
    const cluster = h.labels.cluster ?? '';
    const total = totals.get(`${proxy}|${cluster}`);
    if (total === undefined) continue;
    const list = out.get(proxy) ?? [];
    list.push({ cluster, healthy: h.value, total });
    out.set(proxy, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.cluster.localeCompare(b.cluster));
  return out;
}

export function proxyViews(
  statuses: readonly ProxyStatus[],
  health: Map<string, ClusterHealth[]>,
): ProxyView[] {
  return statuses.map((s) => {
    const view: ProxyView = {
      id: s.id,
      role: s.role,
      workload: s.workload,
      namespace: s.namespace,
      connected: s.connected,
      status: s.status,
      clusters: health.get(s.id) ?? [],
    };
    if (s.service) view.service = s.service;
    if (s.version) view.version = s.version;
    if (s.address) view.address = s.address;
    if (s.ackedVersion) view.ackedVersion = s.ackedVersion;
    if (s.currentVersion) view.wantedVersion = s.currentVersion;
    if (s.lastNack)
      view.lastNack = { version: s.lastNack.version, error: s.lastNack.error, at: s.lastNack.at };
    if (s.lastPushLatencyMs !== undefined) view.lastPushLatencyMs = s.lastPushLatencyMs;
    // Once the mesh issues workload certificates (mTLS), discovery reports their expiry here.
    const expiry = (s as ProxyStatus & { certificateExpiresAt?: string }).certificateExpiresAt;
    if (expiry) view.certificateExpiresAt = expiry;
    return view;
  });
}

/** Routes, clusters and endpoints of a snapshot; endpoint health from the proxy itself when given. */
export function proxyConfigRows(
  snapshot: Pick<SnapshotInput, 'listeners' | 'clusters'>,
  health: readonly ClusterHealth[],
  live: Map<string, LiveHost[]> | undefined,
): { routes: ReturnType<typeof routeRows>; clusters: ClusterRow[] } {
  const counts = new Map(health.map((h) => [h.cluster, h]));
  const clusters = snapshot.clusters.map((c) => {
    const liveHosts = live?.get(c.name);
    const endpoints: EndpointView[] = c.endpoints.map((e) => {
      const seen = liveHosts?.find((h) => h.address === e.address && h.port === e.port);
      return {
        address: e.address,
        port: e.port,
        weight: e.weight ?? 1,
        health: seen ? liveHealth(seen) : (e.health ?? 'HEALTHY'),
        labels: e.labels ?? {},
      };
    });
    const row: ClusterRow = {
      name: c.name,
      type: c.type ?? 'STATIC',
      lbPolicy: c.lbPolicy ?? 'ROUND_ROBIN',
      outlierDetection: c.outlierDetection !== undefined,
      endpoints,
    };
    if (c.healthCheck) row.healthCheck = `${c.healthCheck.path} every ${c.healthCheck.intervalMs} ms`;
    const count = counts.get(c.name);
    if (count) {
      row.healthy = count.healthy;
      row.total = count.total;
    }
    return row;
  });
  return { routes: routeRows(snapshot), clusters };
}

export function configView(resources: readonly Resource[], history: ConfigHistory): ConfigView {
  return {
    revision: history.revision,
    digest: history.digest,
    appliedAt: history.appliedAt.toISOString(),
    resources: resources.map((r) => ({
      kind: r.kind,
      name: r.metadata.name,
      namespace: r.metadata.namespace,
      file: r.origin.file,
      document: r.origin.document,
      yaml: stringify(plainResource(r)),
    })),
    splits: splitsOf(resources),
    rejections: history.rejections(),
  };
}

/** Each VirtualService http route with weighted destinations, as shares of 100. */
export function splitsOf(resources: readonly Resource[]): SplitView[] {
  const out: SplitView[] = [];
  for (const r of resources) {
    if (r.kind !== 'VirtualService') continue;
    const spec = (r as Resource<'VirtualService'>).spec;
    (spec.http ?? []).forEach((http, i) => {
      const routes = http.route ?? [];
      if (routes.length === 0) return;
      // Istio: a lone destination takes everything; weights left out share what is left.
      const weights = routes.map((d) => d.weight ?? (routes.length === 1 ? 100 : 0));
      out.push({
        virtualService: r.metadata.name,
        namespace: r.metadata.namespace,
        route: http.name ?? `http[${i}]`,
        shares: routes.map((d, j) => ({
          destination: d.destination.subset
            ? `${d.destination.host} ${d.destination.subset}`
            : d.destination.host,
          weight: weights[j] ?? 0,
        })),
      });
    });
  }
  return out;
}

export function egressView(resources: readonly Resource[], reading: TrafficReading): EgressView {
  const allowedHosts = resources
    .filter((r) => r.kind === 'ServiceEntry')
    .flatMap((r) => (r as Resource<'ServiceEntry'>).spec.hosts)
    .sort();
  const mesh = resources.find((r) => r.kind === 'MeshConfig') as Resource<'MeshConfig'> | undefined;
  const rows: EgressRow[] = [];
  for (const [list, allowed] of [
    [reading.egressAllowed, true],
    [reading.egressDenied, false],
  ] as const)
    for (const c of list) {
      const row: EgressRow = {
        host: c.labels.host ?? 'unknown',
        allowed,
        proxy: c.labels.proxy_id ?? 'unknown',
        workload: c.labels.workload ?? 'unknown',
        total: c.total,
        rps: c.rate,
      };
      if (!allowed) row.reason = c.labels.reason ?? 'unknown';
      rows.push(row);
    }
  rows.sort(
    (a, b) =>
      a.host.localeCompare(b.host) || Number(a.allowed) - Number(b.allowed) || a.proxy.localeCompare(b.proxy),
  );
  const view: EgressView = { allowedHosts, rows };
  const mode = mesh?.spec.outboundTrafficPolicy?.mode;
  if (mode) view.mode = mode;
  return view;
}
