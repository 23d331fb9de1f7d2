// Turning untrusted input into a typed snapshot, with errors that name the field path. The check runs the
// compiled form of the zod schema (compiled-validation.ts), so this module loads no schema library.
import type { z } from 'zod';
import { snapshotShapeIssues } from './compiled-validation.ts';
import { Errors, StraitError } from './errors.ts';
import type { Snapshot } from './snapshot.ts';

/** One problem found in an input: where (a dotted path like `clusters[0].endpoints[1].port`) and what. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Renders a zod path as `a.b[0].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Flattens a zod error into field issues, one per problem. */
export function issuesOf(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

/** Formats issues as one line each: `source: path: message`. */
export function describeIssues(issues: readonly FieldIssue[], source?: string): string {
  const prefix = source ? `${source}: ` : '';
  return issues.map((i) => `${prefix}${i.path}: ${i.message}`).join('\n');
}

/**
 * Validates a snapshot and fills in defaults. Throws a StraitError (STRAIT_SNAPSHOT_INVALID) whose
 * message names each bad field's path; `source` (a file name, a URL) is put in front of it.
 */
export function parseSnapshot(input: unknown, source?: string): Snapshot {
  const result = checkSnapshot(input);
  if (!result.snapshot) throw new StraitError(Errors.SNAPSHOT_INVALID, describeIssues(result.issues, source));
  return result.snapshot;
}

/** Validates a snapshot and fills in defaults; the issues (each with its field path) when it is not valid. */
export function checkSnapshot(
  input: unknown,
): { snapshot: Snapshot; issues: [] } | { snapshot: undefined; issues: FieldIssue[] } {
  // The compiled check fills in defaults in place: work on a copy, as zod's parse returns a new object.
  const copy = structuredClone(input);
  const shape = snapshotShapeIssues(copy);
  if (shape.length > 0) return { snapshot: undefined, issues: shape };
  const snapshot = copy as Snapshot;
  const issues = clusterReferenceIssues(snapshot);
  return issues.length > 0 ? { snapshot: undefined, issues } : { snapshot, issues: [] };
}

/** Routes and mirrors must name clusters that exist. */
function clusterReferenceIssues(snapshot: Snapshot): FieldIssue[] {
  const names = new Set(snapshot.clusters.map((c) => c.name));
  const issues: FieldIssue[] = [];
  snapshot.listeners.forEach((listener, li) => {
    listener.virtualHosts.forEach((vhost, vi) => {
      vhost.routes.forEach((route, ri) => {
        const at = `listeners[${li}].virtualHosts[${vi}].routes[${ri}].route`;
        route.route?.clusters.forEach((wc, ci) => {
          if (!names.has(wc.cluster))
            issues.push({
              path: `${at}.clusters[${ci}].cluster`,
              message: `no cluster named "${wc.cluster}"`,
            });
        });
        const mirror = route.route?.mirror;
        if (mirror && !names.has(mirror.cluster))
          issues.push({ path: `${at}.mirror.cluster`, message: `no cluster named "${mirror.cluster}"` });
      });
    });
  });
  return issues;
}

/** Serialises with sorted keys, so equal content always gives equal text (for comparing configuration). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}
