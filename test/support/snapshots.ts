// Builders for hand-made snapshots, so each test states only what it is about.
import type { SnapshotInput } from '@strait/api';

type ListenerInput = SnapshotInput['listeners'][number];
type ClusterInput = SnapshotInput['clusters'][number];
type RouteInput = ListenerInput['virtualHosts'][number]['routes'][number];

export function cluster(
  name: string,
  endpoints: { address: string; port: number; weight?: number }[],
  extra: Partial<ClusterInput> = {},
): ClusterInput {
  return { name, endpoints, ...extra };
}

export function route(
  name: string,
  clusterName: string,
  extra: Partial<RouteInput> = {},
  prefix = '/',
): RouteInput {
  return {
    name,
    match: { path: { prefix } },
    route: { clusters: [{ cluster: clusterName, weight: 100 }] },
    ...extra,
  };
}

export function listener(
  kind: ListenerInput['kind'],
  port: number,
  routes: RouteInput[],
  domains = ['*'],
): ListenerInput {
  return { name: `${kind}-${port}`, kind, port, virtualHosts: [{ name: 'default', domains, routes }] };
}

export function snapshot(
  listeners: ListenerInput[],
  clusters: ClusterInput[],
  extra: Partial<SnapshotInput> = {},
): Omit<SnapshotInput, 'version'> {
  return { listeners, clusters, ...extra };
}
