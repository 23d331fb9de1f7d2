// straitctl describe's text: sections of `label: value` lines, like `kubectl describe`, and the endpoint tables.
import type { ProxyStatus } from '@strait/api';
import { table } from '../output.ts';
import { type ClusterState, healthText } from './clusters.ts';
import type { PodDescription } from './pod.ts';
import { formatPercent, type RequestDescription } from './request.ts';

/** One line on which version the proxy runs against what the control plane wants, when they differ. */
export function syncNote(status: ProxyStatus): string | undefined {
  if (status.status === 'SYNCED') return undefined;
  const runs = status.ackedVersion ?? 'nothing yet';
  const wanted = status.currentVersion ?? 'unknown';
  const gone = status.connected ? '' : ', and it is not connected';
  return `Note: ${status.id} is ${status.status} (runs ${runs}, the control plane wants ${wanted}${gone}); this describes the wanted config.`;
}

function line(label: string, value: string): string {
  return `${`${label}:`.padEnd(16)}${value}\n`;
}

function clusterBlock(c: ClusterState, indent: string): string {
  let out = `${indent}${line('endpoints', `${c.healthy} of ${c.endpoints.length} healthy (${c.healthSource === 'proxy' ? 'as the proxy sees them' : "the control plane's view; the proxy's admin port could not be read"})`)}`;
  if (c.endpoints.length > 0) {
    const rows = c.endpoints.map((e) => [
      `${e.address}:${e.port}`,
      healthText(e),
      String(e.weight),
      e.workload ?? '-',
      Object.entries(e.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-',
    ]);
    for (const row of table(['ENDPOINT', 'HEALTH', 'WEIGHT', 'WORKLOAD', 'LABELS'], rows)
      .trimEnd()
      .split('\n'))
      out += `${indent}  ${row}\n`;
  }
  out += `${indent}${line('load balancing', c.now)}`;
  out += `${indent}${line('none healthy', c.whenNoneHealthy)}`;
  if (c.forwardProxy) out += `${indent}${line('via', 'the egress gateway (sent as to an HTTP proxy)')}`;
  return out;
}

export function renderRequest(proxy: ProxyStatus, d: RequestDescription): string {
  let out = '';
  const note = syncNote(proxy);
  if (note) out += `${note}\n\n`;
  out += line(
    'Proxy',
    `${proxy.id} (${proxy.role}, workload ${proxy.workload}, config ${proxy.ackedVersion ?? '-'})`,
  );
  out += line('Request', `${d.method} ${d.authority}${d.path}`);
  out += line('Listener', `${d.listener.name} (${d.listener.kind}, port ${d.listener.port})`);
  if (d.normalizedPath === undefined) out += line('Path', `${d.path} cannot be normalized`);
  else if (d.normalizedPath !== d.path)
    out += line('Path', `${d.normalizedPath} after ${d.listener.pathNormalization} normalization`);
  if (d.egress) out += line('Egress policy', d.egress);
  if (d.noVirtualHost) out += line('Virtual host', d.noVirtualHost);
  if (d.virtualHost)
    out += line('Virtual host', `${d.virtualHost.name} (domains: ${d.virtualHost.domains.join(', ')})`);
  if (d.route) out += line('Route', `${d.route.name} (route ${d.route.index + 1} of the virtual host)`);
  else if (d.virtualHost) out += line('Route', 'none matched');
  if (d.nearMisses.length > 0) {
    out += 'Near misses:\n';
    for (const miss of d.nearMisses) out += `  ${miss.route}: ${miss.reason}\n`;
  }
  if (d.directResponse) out += line('Direct answer', String(d.directResponse.status));
  for (const c of d.clusters) {
    const subset = c.state?.subset ? `, subset ${c.state.subset}` : '';
    const service = c.state?.service ? ` (${c.state.service}${subset})` : '';
    out += line('Cluster', `${c.cluster}${service}, weight ${c.weight} = ${formatPercent(c.percent)}`);
    if (c.state) out += clusterBlock(c.state, '  ');
    else out += '  not in the snapshot: 503 NC\n';
  }
  if (d.timeout) out += line('Timeout', d.timeout);
  if (d.retries) out += line('Retries', d.retries);
  if (d.fault) out += line('Fault', d.fault);
  if (d.mirror) out += line('Mirror', d.mirror);
  if (d.rewrite) out += line('Rewrite', d.rewrite);
  for (const policy of d.policies) out += line('Policy', policy);
  out += line('Outcome', d.outcome);
  return out;
}

export function renderPod(d: PodDescription): string {
  let out = '';
  const p = d.pod;
  out += line(
    'Pod',
    `${p.id} (workload ${p.workload}${p.version ? `, version ${p.version}` : ''}, ${p.address ?? 'no address'})`,
  );
  out += line('Service', p.service ?? '-');
  out += line(
    'Status',
    `${p.status}${p.connected ? '' : ' (disconnected)'}, config ${p.ackedVersion ?? '-'}`,
  );
  out += line('Endpoint', d.endpoints.length > 0 ? d.endpoints.join(', ') : 'in no cluster of any proxy');
  if (d.inbound.length > 0) out += line('Inbound', d.inbound.join('; '));
  if (d.callers.length === 0) {
    out += '\nNo proxy routes to this pod.\n';
    return out;
  }
  out += '\nReached from:\n';
  const rows = d.callers.map((c) => [
    c.proxy,
    c.service ?? c.workload,
    `${c.virtualHost}/${c.route}`,
    c.cluster,
    formatPercent(c.routeShare),
    `${formatPercent(c.endpointShare)} (${c.health})`,
    formatPercent(c.share),
  ]);
  out += table(['FROM PROXY', 'SERVICE', 'ROUTE', 'CLUSTER', 'ROUTE WEIGHT', 'OF CLUSTER', 'SHARE'], rows)
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}\n`)
    .join('');
  out += '\nBy calling service (share of what each route sends, averaged over its proxies):\n';
  for (const s of d.byService)
    out += `  ${s.service}: ${formatPercent(s.share)} of ${s.host} via ${s.proxies} proxies\n`;
  out += `\nShares count endpoints as each caller sees them (${d.healthSource}).\n`;
  return out;
}
