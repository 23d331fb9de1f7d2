// straitctl get KIND [NAME] [-o yaml|json]: resources as the control plane serves them.
import { type PlainResource, type ResourceList, resourcePath } from '@strait/api';
import { stringify } from 'yaml';
import { CliError, type ControlPlaneClient } from '../client.ts';
import { type Io, table } from '../output.ts';

/** A short description of a resource for the table's DETAIL column. */
function detail(r: PlainResource): string {
  const s = r.spec as Record<string, unknown> & {
    hosts?: string[];
    host?: string;
    gateways?: string[];
    subsets?: { name: string }[];
    selector?: Record<string, string>;
    targetRef?: { kind: string; name: string };
    address?: string;
  };
  switch (r.kind) {
    case 'VirtualService':
      return `hosts=${(s.hosts ?? []).join(',')} gateways=${(s.gateways ?? ['mesh']).join(',')}`;
    case 'DestinationRule':
      return `host=${s.host} subsets=${(s.subsets ?? []).map((x) => x.name).join(',') || '-'}`;
    case 'ServiceEntry':
    case 'Gateway':
      return r.kind === 'Gateway'
        ? `selector=${Object.entries(s.selector ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}`
        : `hosts=${(s.hosts ?? []).join(',')}`;
    case 'HealthCheck':
      return `host=${s.host}`;
    case 'RateLimit':
      return `target=${s.targetRef?.kind}/${s.targetRef?.name}`;
    case 'WorkloadEntry':
      return `address=${s.address}`;
    default:
      return '';
  }
}

export async function get(
  client: ControlPlaneClient,
  io: Io,
  kind: string,
  name: string | undefined,
  output: string | undefined,
): Promise<number> {
  if (output !== undefined && output !== 'yaml' && output !== 'json' && output !== 'wide')
    throw new CliError(`-o expects yaml or json, got "${output}".`);
  const all = kind === 'all';
  const path = all ? resourcePath() : resourcePath(kind, name);
  const body = await client.request('GET', path);
  const items = name && !all ? [body as PlainResource] : (body as ResourceList).items;
  if (output === 'json') {
    io.out(`${JSON.stringify(name && !all ? items[0] : { items }, null, 2)}\n`);
    return 0;
  }
  if (output === 'yaml') {
    io.out(items.map((i) => stringify(i)).join('---\n'));
    return 0;
  }
  if (items.length === 0) {
    io.err(`No resources found.\n`);
    return 0;
  }
  io.out(
    table(
      ['KIND', 'NAME', 'NAMESPACE', 'DETAIL'],
      items.map((i) => [i.kind, i.metadata.name, i.metadata.namespace ?? 'default', detail(i)]),
    ),
  );
  return 0;
}
