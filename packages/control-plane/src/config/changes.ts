// What a write to the configuration would do, worked out the same way for every store: each document
// validated, names unique, resourceVersion preconditions checked, the whole candidate configuration's
// references checked. A store then makes the plan durable its own way (files, or an etcd transaction).
import { type ApplyResult, canonicalJson, Errors, StraitError, type VersionConflict } from '@strait/api';
import {
  type ConfigIssue,
  checkReferences,
  type RawDocument,
  type Resource,
  resourceContent,
  resourceKey,
  validateDocument,
} from '@strait/api/resources';
import type { ResourceRef } from './types.ts';

/** A write that checked out against the configuration it was planned on. */
export interface PlannedChange {
  /** Per resource, what happens (resourceVersion is the store's to fill in). */
  results: ApplyResult[];
  /** The whole configuration once the change is made. */
  candidate: Resource[];
  /** Resources created or changed, without the resourceVersion they were submitted with. */
  upserts: Resource[];
  /** Resources deleted. */
  removals: Resource[];
  /** What the request validated (for the change event). */
  submitted: Resource[];
}

/** Why a plan was refused: validation issues (the store reports them) or a thrown conflict/not-found. */
export type Planned = { plan: PlannedChange } | { issues: ConfigIssue[] };

/** The resource without the resourceVersion it was submitted with. */
export function withoutVersion(r: Resource): Resource {
  if (r.metadata.resourceVersion === undefined) return r;
  const { resourceVersion: _, ...metadata } = r.metadata;
  return { ...r, metadata };
}

export function sameContent(a: Resource, b: Resource): boolean {
  return canonicalJson(resourceContent(a)) === canonicalJson(resourceContent(b));
}

/** Plans creating or replacing resources on top of `current`. Throws CONFLICT or BAD_REQUEST. */
export function planApply(
  current: readonly Resource[],
  docs: readonly RawDocument[],
  parseIssues: readonly ConfigIssue[] = [],
): Planned {
  if (parseIssues.length > 0) return { issues: [...parseIssues] };
  const submitted: Resource[] = [];
  const issues: ConfigIssue[] = [];
  for (const doc of docs) {
    const result = validateDocument(doc);
    issues.push(...result.issues);
    if (result.resource) submitted.push(result.resource);
  }
  if (issues.length === 0 && submitted.length === 0)
    throw new StraitError(Errors.BAD_REQUEST, 'no resources in the request');
  if (issues.length === 0) issues.push(...duplicatesIn(submitted));
  if (issues.length > 0) return { issues };

  const byKey = new Map(current.map((r) => [resourceKey(r), r]));
  throwConflicts(submitted.map((r) => ({ ref: refOf(r), existing: byKey.get(resourceKey(r)) })));
  const results: ApplyResult[] = [];
  const candidate = [...current];
  const upserts: Resource[] = [];
  for (const resource of submitted.map(withoutVersion)) {
    const existing = byKey.get(resourceKey(resource));
    const { kind, metadata } = resource;
    const { name, namespace } = metadata;
    if (!existing) {
      candidate.push(resource);
      upserts.push(resource);
      results.push({ kind, name, namespace, action: 'created' });
      continue;
    }
    const same = sameContent(existing, resource);
    results.push({ kind, name, namespace, action: same ? 'unchanged' : 'configured' });
    if (same) continue;
    candidate[candidate.indexOf(existing)] = resource;
    upserts.push(resource);
  }
  const refIssues = checkReferences(candidate);
  if (refIssues.length > 0) return { issues: refIssues };
  return { plan: { results, candidate, upserts, removals: [], submitted } };
}

/** Plans deleting resources from `current`. Throws NOT_FOUND or CONFLICT. */
export function planDelete(current: readonly Resource[], refs: readonly ResourceRef[]): Planned {
  const results: ApplyResult[] = [];
  const missing: string[] = [];
  const removed = new Set<Resource>();
  const checks: { ref: ResourceRef & { namespace: string }; existing: Resource | undefined }[] = [];
  for (const ref of refs) {
    const namespace = ref.namespace ?? 'default';
    const found = current.find(
      (r) => r.kind === ref.kind && r.metadata.name === ref.name && r.metadata.namespace === namespace,
    );
    checks.push({ ref: { ...ref, namespace }, existing: found });
    if (!found) {
      if (ref.resourceVersion === undefined)
        missing.push(`${ref.kind} "${ref.name}" in namespace ${namespace}`);
      continue;
    }
    if (removed.has(found)) continue;
    removed.add(found);
    results.push({ kind: found.kind, name: found.metadata.name, namespace, action: 'deleted' });
  }
  throwConflicts(checks);
  if (missing.length > 0) throw new StraitError(Errors.NOT_FOUND, `no ${missing.join(', no ')}`);
  const candidate = current.filter((r) => !removed.has(r));
  const refIssues = checkReferences(candidate);
  if (refIssues.length > 0) return { issues: refIssues };
  return { plan: { results, candidate, upserts: [], removals: [...removed], submitted: [] } };
}

function refOf(r: Resource): ResourceRef & { namespace: string } {
  const ref = { kind: r.kind, name: r.metadata.name, namespace: r.metadata.namespace };
  return r.metadata.resourceVersion === undefined
    ? ref
    : { ...ref, resourceVersion: r.metadata.resourceVersion };
}

/** Refuses the whole request (409) when any resource is no longer at the version the writer read. */
function throwConflicts(
  checks: readonly { ref: ResourceRef & { namespace: string }; existing: Resource | undefined }[],
): void {
  const conflicts: VersionConflict[] = [];
  for (const { ref, existing } of checks) {
    const sent = ref.resourceVersion;
    const current = existing?.metadata.resourceVersion;
    if (sent === undefined || sent === current) continue;
    const conflict: VersionConflict = { kind: ref.kind, name: ref.name, namespace: ref.namespace, sent };
    if (current !== undefined) conflict.current = current;
    conflicts.push(conflict);
  }
  if (conflicts.length === 0) return;
  const text = conflicts
    .map(
      (c) =>
        `${c.kind} "${c.name}" in namespace ${c.namespace} is at ${c.current === undefined ? 'no version (it does not exist)' : `resourceVersion ${c.current}`}, not ${c.sent}`,
    )
    .join('; ');
  throw conflictError(`${text}; read it again and retry`, conflicts);
}

/** A 409 that carries each conflict (the API answer lists them as `error.conflicts`). */
export function conflictError(detail: string, conflicts: VersionConflict[]): StraitError {
  const error = new StraitError(Errors.CONFLICT, detail);
  (error as StraitError & { conflicts?: VersionConflict[] }).conflicts = conflicts;
  return error;
}

function duplicatesIn(resources: Resource[]): ConfigIssue[] {
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const r of resources) {
    const key = resourceKey(r);
    if (seen.has(key))
      issues.push({
        error: Errors.CONFIG_INVALID,
        origin: r.origin,
        kind: r.kind,
        name: r.metadata.name,
        path: 'metadata.name',
        message: `expected a unique name; ${r.kind} "${r.metadata.name}" appears twice in the request`,
      });
    seen.add(key);
  }
  return issues;
}
