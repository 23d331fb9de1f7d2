// straitctl apply -f / delete -f: send resources to the control plane, which validates them whole.
import type { ControlPlaneClient } from '../client.ts';
import { readSources } from '../files.ts';
import type { Io } from '../output.ts';

interface Result {
  kind: string;
  name: string;
  namespace: string;
  action: string;
}

function report(io: Io, results: Result[]): void {
  for (const r of results) {
    const ns = r.namespace === 'default' ? '' : ` (namespace ${r.namespace})`;
    io.out(`${r.kind.toLowerCase()}/${r.name}${ns} ${r.action}\n`);
  }
}

export async function apply(client: ControlPlaneClient, io: Io, files: string[]): Promise<number> {
  const sources = await readSources(files, io.stdin);
  const body = await client.request('PUT', '/v1/resources', JSON.stringify({ sources }), {
    'content-type': 'application/json',
  });
  report(io, (body as { results: Result[] }).results);
  return 0;
}

export async function remove(client: ControlPlaneClient, io: Io, files: string[]): Promise<number> {
  const sources = await readSources(files, io.stdin);
  const body = await client.request('DELETE', '/v1/resources', JSON.stringify({ sources }), {
    'content-type': 'application/json',
  });
  report(io, (body as { results: Result[] }).results);
  return 0;
}

export async function removeOne(
  client: ControlPlaneClient,
  io: Io,
  kind: string,
  name: string,
): Promise<number> {
  const path = `/v1/resources/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`;
  const body = await client.request('DELETE', path);
  report(io, (body as { results: Result[] }).results);
  return 0;
}
