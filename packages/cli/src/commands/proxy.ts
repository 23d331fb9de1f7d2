// straitctl proxy-status and proxy-config: what every proxy runs (asked of every replica, each knowing the
// proxies connected to it), and one proxy's routes, clusters and endpoints as the control plane computed them
// (its secrets come from the proxy itself: commands/secret.ts).
import {
  ApiPaths,
  mergeProxyStatuses,
  type ProxyStatusList,
  routeRows,
  type Snapshot,
  snapshotPath,
} from '@strait/api';
import { CliError, type ControlPlaneClient } from '../client.ts';
import { type Io, table } from '../output.ts';
import { proxySecret } from './secret.ts';

export async function proxyStatus(
  client: ControlPlaneClient,
  io: Io,
  output: string | undefined,
): Promise<number> {
  const { answers, unreachable } = await client.requestAll(ApiPaths.proxies);
  for (const server of unreachable)
    io.err(`Warning: no answer from ${server}; proxies connected to it are not listed.\n`);
  const proxies = mergeProxyStatuses(answers.map((a) => (a.body as ProxyStatusList).proxies));
  if (output === 'json') {
    io.out(`${JSON.stringify(proxies, null, 2)}\n`);
    return 0;
  }
  if (proxies.length === 0) {
    io.err('No proxies are connected.\n');
    return 0;
  }
  const rows = proxies.map((p) => [
    p.id,
    p.role,
    p.workload,
    p.ackedVersion ?? '-',
    p.connected ? p.status : `${p.status} (disconnected)`,
    p.lastPushLatencyMs === undefined ? '-' : `${p.lastPushLatencyMs}ms`,
    p.replica ?? '-',
  ]);
  io.out(table(['PROXY', 'ROLE', 'WORKLOAD', 'VERSION', 'STATUS', 'PUSH', 'REPLICA'], rows));
  for (const p of proxies) {
    const nack = p.status === 'NACKED' ? p.lastNack : undefined;
    if (!nack) continue;
    const which = nack.resources?.map((r) => `${r.type}/${r.name}`).join(', ');
    io.out(`\n${p.id} rejected ${nack.version}${which ? ` (${which})` : ''}: ${nack.error}\n`);
  }
  return 0;
}

export async function proxyConfig(
  client: ControlPlaneClient,
  io: Io,
  what: string,
  proxyId: string,
  output: string | undefined,
): Promise<number> {
  if (what === 'secret') return proxySecret(client, io, proxyId, output);
  if (!['routes', 'clusters', 'endpoints', 'all'].includes(what))
    throw new CliError(`proxy-config shows routes, clusters, endpoints, secret or all, not "${what}".`);
  const snapshot = (await client.request('GET', snapshotPath(proxyId))) as Snapshot;
  if (output === 'json') {
    const part =
      what === 'routes'
        ? snapshot.listeners
        : what === 'all'
          ? snapshot
          : what === 'clusters'
            ? snapshot.clusters.map((c) => ({ ...c, endpoints: undefined }))
            : snapshot.clusters.map((c) => ({ cluster: c.name, endpoints: c.endpoints }));
    io.out(`${JSON.stringify(part, null, 2)}\n`);
    return 0;
  }
  if (what === 'routes' || what === 'all') {
    const rows = routeRows(snapshot).map((r) => [
      r.listener,
      r.virtualHost,
      r.domains.join(','),
      r.match,
      r.route,
      r.target,
    ]);
    io.out(table(['LISTENER', 'VIRTUAL HOST', 'DOMAINS', 'MATCH', 'ROUTE', 'CLUSTERS'], rows));
  }
  if (what === 'clusters' || what === 'all') {
    if (what === 'all') io.out('\n');
    const rows = snapshot.clusters.map((c) => [
      c.name,
      c.type ?? 'STATIC',
      c.lbPolicy ?? 'ROUND_ROBIN',
      String(c.endpoints.length),
      c.healthCheck ? c.healthCheck.path : '-',
      c.outlierDetection ? 'yes' : '-',
    ]);
    io.out(table(['CLUSTER', 'TYPE', 'LB', 'ENDPOINTS', 'HEALTH CHECK', 'OUTLIER'], rows));
  }
  if (what === 'endpoints' || what === 'all') {
    if (what === 'all') io.out('\n');
    const rows: string[][] = [];
    for (const c of snapshot.clusters)
      for (const e of c.endpoints)
        rows.push([
          `${e.address}:${e.port}`,
          e.health ?? 'HEALTHY',
          String(e.weight ?? 1),
          c.name,
          Object.entries(e.labels ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(',') || '-',
        ]);
    io.out(table(['ENDPOINT', 'STATUS', 'WEIGHT', 'CLUSTER', 'LABELS'], rows));
  }
  return 0;
}
