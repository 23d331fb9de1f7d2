// The proxies the control plane knows (GET /v1/proxies), one of them found by id with a did-you-mean, and a
// read of one proxy's admin port (its own view, where straitctl can reach it).
import { ApiPaths, type ProxyStatus, type ProxyStatusList } from '@strait/api';
import { nearestName } from '@strait/api/resources';
import { CliError, type ControlPlaneClient } from './client.ts';

export async function proxies(client: ControlPlaneClient): Promise<ProxyStatus[]> {
  return ((await client.request('GET', ApiPaths.proxies)) as ProxyStatusList).proxies;
}

export function findProxy(list: readonly ProxyStatus[], id: string): ProxyStatus {
  const found = list.find((p) => p.id === id);
  if (found) return found;
  const near = nearestName(
    id,
    list.map((p) => p.id),
  );
  const hint = near ? ` Did you mean "${near}"?` : '';
  const known = list.length > 0 ? ` Known: ${list.map((p) => p.id).join(', ')}.` : ' No proxy is known.';
  throw new CliError(`no proxy "${id}".${hint}${known}`);
}

/** GET `path` on the proxy's admin port: its JSON, or a thrown Error saying why it could not be read. */
export async function readAdmin(proxy: ProxyStatus, path: string, timeoutMs = 1500): Promise<unknown> {
  if (!proxy.adminAddress) throw new Error(`${proxy.id} reports no admin address`);
  const res = await fetch(`http://${proxy.adminAddress}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${proxy.adminAddress}${path} answered ${res.status}`);
  return res.json();
}
