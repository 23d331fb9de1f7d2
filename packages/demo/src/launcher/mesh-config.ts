// Builds the control plane's config directory from the demo's mesh files (packages/demo/mesh),
// pointing the external API's ServiceEntry, and the tracing provider (the control plane's own OTLP
// receiver), at the addresses the plan gives them.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ExternalApi } from '../topology.ts';

export const MeshDir = fileURLToPath(new URL('../../mesh/', import.meta.url));

/** Files in the mesh folder that are samples for users to apply, not part of the starting config. */
export const SampleFiles = ['canary.yaml'];

export function meshFiles(): string[] {
  return readdirSync(MeshDir)
    .filter((f) => f.endsWith('.yaml') && !SampleFiles.includes(f))
    .sort();
}

/** The demo's tracing provider in MeshConfig: the control plane, `control-plane` by its compose name. */
export const DemoTracingProvider = 'strait-control-plane';

/** The YAML documents of a file, refusing one that does not parse (naming the file). */
function documentsOf(text: string, file: string) {
  const docs = parseAllDocuments(text);
  for (const doc of docs) if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
  return docs;
}

/** Rewrites MeshConfig's demo tracing provider so its OpenTelemetry service is `address`. */
export function pointTracingAt(text: string, address: string, file: string): string {
  const docs = documentsOf(text, file);
  let changed = false;
  for (const doc of docs) {
    if (doc.get('kind') !== 'MeshConfig') continue;
    const providers = doc.getIn(['spec', 'extensionProviders'], false) as { toJSON(): unknown } | undefined;
    const list = (providers?.toJSON() ?? []) as { name?: string }[];
    const i = list.findIndex((p) => p.name === DemoTracingProvider);
    if (i < 0) continue;
    doc.setIn(['spec', 'extensionProviders', i, 'opentelemetry', 'service'], address);
    changed = true;
  }
  return changed ? docs.map((d) => d.toString()).join('') : text;
}

/** Rewrites the ServiceEntry for the external API so its STATIC endpoint is `address`. */
export function pointExternalApiAt(text: string, address: string, file: string): string {
  const docs = documentsOf(text, file);
  let changed = false;
  for (const doc of docs) {
    const kind = doc.get('kind');
    const hosts = doc.getIn(['spec', 'hosts'], false) as { toJSON(): unknown } | undefined;
    const hostList = hosts ? (hosts.toJSON() as unknown[]) : [];
    if (kind === 'ServiceEntry' && hostList.includes(ExternalApi.host)) {
      if (doc.getIn(['spec', 'resolution']) !== 'STATIC') continue;
      doc.setIn(['spec', 'endpoints', 0, 'address'], address);
      changed = true;
    }
  }
  // Files that need no change are copied byte for byte.
  return changed ? docs.map((d) => d.toString()).join('') : text;
}

/** Writes a fresh config directory (removing what was there) and returns the files written. */
export function prepareConfigDir(
  dir: string,
  externalApiAddress: string,
  controlPlaneAddress: string,
): string[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = meshFiles();
  for (const file of files) {
    const text = readFileSync(join(MeshDir, file), 'utf8');
    const pointed = pointExternalApiAt(text, externalApiAddress, file);
    writeFileSync(join(dir, file), pointTracingAt(pointed, controlPlaneAddress, file));
  }
  return files;
}
