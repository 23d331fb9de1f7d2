// straitctl apply -f / delete -f: send resources to the control plane, which validates them whole.
import {
  ApiPaths,
  type ApplyResponse,
  type ApplyResult,
  resourcePath,
  type SourcesRequest,
} from '@strait/api';
import type { ControlPlaneClient } from '../client.ts';
import { readSources } from '../files.ts';
import type { Io } from '../output.ts';

function report(io: Io, results: ApplyResult[]): void {
  for (const r of results) {
    const ns = r.namespace === 'default' ? '' : ` (namespace ${r.namespace})`;
    io.out(`${r.kind.toLowerCase()}/${r.name}${ns} ${r.action}\n`);
  }
}

export async function apply(client: ControlPlaneClient, io: Io, files: string[]): Promise<number> {
  const request: SourcesRequest = { sources: await readSources(files, io.stdin) };
  const body = await client.request('PUT', ApiPaths.resources, JSON.stringify(request), {
    'content-type': 'application/json',
  });
  report(io, (body as ApplyResponse).results);
  return 0;
}

export async function remove(client: ControlPlaneClient, io: Io, files: string[]): Promise<number> {
  const request: SourcesRequest = { sources: await readSources(files, io.stdin) };
  const body = await client.request('DELETE', ApiPaths.resources, JSON.stringify(request), {
    'content-type': 'application/json',
  });
  report(io, (body as ApplyResponse).results);
  return 0;
}

export async function removeOne(
  client: ControlPlaneClient,
  io: Io,
  kind: string,
  name: string,
): Promise<number> {
  const body = await client.request('DELETE', resourcePath(kind, name));
  report(io, (body as ApplyResponse).results);
  return 0;
}
