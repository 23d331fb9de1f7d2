// straitctl describe request|pod: fetches what the proxies run from the control plane (their snapshots,
// GET /v1/snapshots/<id>) and, where a proxy's admin port answers, its own view of endpoint health, then
// explains (describe/request.ts, describe/pod.ts).
import {
  type LiveHost,
  liveHostsOf,
  NodeRoleSchema,
  ProxyAdminPaths,
  type ProxyStatus,
  parseSnapshot,
  type Snapshot,
  snapshotPath,
} from '@strait/api';
import { CliError, type ControlPlaneClient } from '../client.ts';
import { describePod } from '../describe/pod.ts';
import { renderPod, renderRequest } from '../describe/render.ts';
import { describeRequest } from '../describe/request.ts';
import type { Io } from '../output.ts';
import { findProxy, proxies, readAdmin } from '../proxies.ts';

export interface DescribeRequestOptions {
  header?: string[];
  method?: string;
  listener?: string;
  output?: string;
}

async function snapshotOf(client: ControlPlaneClient, id: string): Promise<Snapshot> {
  const body = await client.request('GET', snapshotPath(id));
  return parseSnapshot(body, `the snapshot of ${id}`);
}

/** The proxy's own /clusters, or undefined when its admin port cannot be reached from here. */
async function liveHosts(proxy: ProxyStatus): Promise<Map<string, LiveHost[]> | undefined> {
  try {
    return liveHostsOf(await readAdmin(proxy, ProxyAdminPaths.clusters));
  } catch {
    return undefined;
  }
}

/** `-H 'x-user: a'` -> ['x-user', 'a']. */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon).trim().toLowerCase() : '';
  if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name))
    throw new CliError(`-H expects "name: value", got "${text}".`);
  return [name, text.slice(colon + 1).trim()];
}

export async function describeRequestCommand(
  client: ControlPlaneClient,
  io: Io,
  from: string,
  url: string,
  o: DescribeRequestOptions,
): Promise<number> {
  const proxy = findProxy(await proxies(client), from);
  const role = NodeRoleSchema.safeParse(proxy.role);
  if (!role.success)
    throw new CliError(`${proxy.id} has role "${proxy.role}", which describe does not know.`);
  const [snapshot, live] = await Promise.all([snapshotOf(client, proxy.id), liveHosts(proxy)]);
  const headers: Record<string, string> = {};
  for (const h of o.header ?? []) {
    const [name, value] = parseHeader(h);
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const description = describeRequest(
    snapshot,
    role.data,
    {
      url,
      method: (o.method ?? 'GET').toUpperCase(),
      headers,
      ...(o.listener ? { listener: o.listener } : {}),
    },
    live,
  );
  if (o.output === 'json') io.out(`${JSON.stringify({ proxy, ...description }, null, 2)}\n`);
  else io.out(renderRequest(proxy, description));
  return 0;
}

export async function describePodCommand(
  client: ControlPlaneClient,
  io: Io,
  podId: string,
  output: string | undefined,
): Promise<number> {
  const list = await proxies(client);
  const pod = findProxy(list, podId);
  const snapshots = new Map<string, Snapshot>();
  const live = new Map<string, Map<string, LiveHost[]> | undefined>();
  await Promise.all(
    list.map(async (p) => {
      const [snapshot, hosts] = await Promise.all([
        snapshotOf(client, p.id).catch(() => undefined),
        liveHosts(p),
      ]);
      if (snapshot) snapshots.set(p.id, snapshot);
      live.set(p.id, hosts);
    }),
  );
  const description = describePod(pod, list, snapshots, live);
  if (output === 'json') io.out(`${JSON.stringify(description, null, 2)}\n`);
  else io.out(renderPod(description));
  return 0;
}
