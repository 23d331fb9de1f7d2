// straitctl describe pod: which proxies' routes reach one workload's pod, and with which share of what each
// route sends, from every proxy's snapshot (and each caller's own view of endpoint health where it answers).
import type { LiveHost, ProxyStatus, Snapshot } from '@strait/api';
import { type ClusterState, clusterState } from './clusters.ts';

export interface CallerRow {
  proxy: string;
  workload: string;
  service?: string;
  listener: string;
  virtualHost: string;
  route: string;
  cluster: string;
  /** The cluster's share of the route's weight, in percent. */
  routeShare: number;
  /** This pod's share of the cluster's traffic, in percent (0 when the caller does not send to it). */
  endpointShare: number;
  /** The pod's health as this caller sees it. */
  health: string;
  /** routeShare × endpointShare: the part of this route's requests that reach the pod. */
  share: number;
}

export interface PodDescription {
  pod: ProxyStatus;
  /** address:port entries naming this pod in any cluster. */
  endpoints: string[];
  /** What the pod's own inbound listener does with what reaches it. */
  inbound: string[];
  callers: CallerRow[];
  byService: { service: string; host: string; share: number; proxies: number }[];
  healthSource: string;
}

/** The pod's endpoint share of a cluster, by the proxy's rule (healthy ones only, unless in panic mode). */
function endpointShare(state: ClusterState, address: string): { share: number; health: string } {
  const mine = state.endpoints.filter((e) => e.address === address);
  const health = mine.map((e) => e.health).join(',') || 'absent';
  const total = state.endpoints.length;
  const panic = state.healthy * 100 < state.panicThresholdPercent * total;
  const eligible = state.endpoints.filter((e) => panic || e.health === 'HEALTHY');
  const weight = (list: typeof mine) => list.reduce((sum, e) => sum + e.weight, 0);
  const all = weight(eligible);
  const own = weight(mine.filter((e) => eligible.includes(e)));
  return { share: all > 0 ? (100 * own) / all : 0, health };
}

export function describePod(
  pod: ProxyStatus,
  proxies: readonly ProxyStatus[],
  snapshots: ReadonlyMap<string, Snapshot>,
  live: ReadonlyMap<string, Map<string, LiveHost[]> | undefined>,
): PodDescription {
  const address = pod.address;
  const callers: CallerRow[] = [];
  const endpoints = new Set<string>();
  let liveCount = 0;
  for (const caller of proxies) {
    const snapshot = snapshots.get(caller.id);
    if (!snapshot || caller.id === pod.id || !address) continue;
    const hosts = live.get(caller.id);
    if (hosts) liveCount++;
    const clusters = new Map(snapshot.clusters.map((c) => [c.name, c]));
    for (const listener of snapshot.listeners) {
      if (listener.kind === 'inbound') continue;
      for (const vh of listener.virtualHosts)
        for (const route of vh.routes) {
          const action = route.route;
          if (!action) continue;
          const total = action.clusters.reduce((sum, c) => sum + c.weight, 0);
          for (const wc of action.clusters) {
            const cluster = clusters.get(wc.cluster);
            if (!cluster?.endpoints.some((e) => e.address === address)) continue;
            for (const e of cluster.endpoints)
              if (e.address === address) endpoints.add(`${e.address}:${e.port}`);
            const state = clusterState(cluster, hosts?.get(cluster.name));
            const { share, health } = endpointShare(state, address);
            const routeShare = total > 0 ? (100 * wc.weight) / total : 100;
            const row: CallerRow = {
              proxy: caller.id,
              workload: caller.workload,
              listener: listener.name,
              virtualHost: vh.name,
              route: route.name,
              cluster: cluster.name,
              routeShare,
              endpointShare: share,
              health,
              share: (routeShare * share) / 100,
            };
            if (caller.service) row.service = caller.service;
            callers.push(row);
          }
        }
    }
  }
  const inbound: string[] = [];
  const own = snapshots.get(pod.id);
  for (const listener of own?.listeners ?? [])
    if (listener.kind === 'inbound')
      for (const vh of listener.virtualHosts)
        for (const route of vh.routes) {
          const targets = (route.route?.clusters ?? []).map((wc) => {
            const c = own?.clusters.find((x) => x.name === wc.cluster);
            const at = c?.endpoints.map((e) => `${e.address}:${e.port}`).join(', ');
            return `${wc.cluster}${at ? ` (${at})` : ''}`;
          });
          inbound.push(
            `${listener.name} :${listener.port} ${route.name} -> ${targets.join(', ') || 'direct answer'}`,
          );
        }
  return {
    pod,
    endpoints: [...endpoints].sort(),
    inbound,
    callers,
    byService: byService(callers),
    healthSource:
      liveCount === 0
        ? "the control plane's view: no caller's admin port could be read"
        : `${liveCount} caller${liveCount === 1 ? '' : 's'} answered on their admin port; the others as the control plane sees them`,
  };
}

function byService(rows: readonly CallerRow[]): PodDescription['byService'] {
  const groups = new Map<string, { service: string; host: string; shares: number[]; proxies: Set<string> }>();
  for (const row of rows) {
    const service = row.service ?? row.workload;
    const key = `${service}\u0000${row.virtualHost}/${row.route}`;
    const group = groups.get(key) ?? {
      service,
      host: `${row.virtualHost}/${row.route}`,
      shares: [],
      proxies: new Set(),
    };
    group.shares.push(row.share);
    group.proxies.add(row.proxy);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({
    service: g.service,
    host: g.host,
    // One row per proxy and cluster: sum per proxy (a pod may sit in two clusters of one route), then average.
    share: g.shares.reduce((a, b) => a + b, 0) / g.proxies.size,
    proxies: g.proxies.size,
  }));
}
