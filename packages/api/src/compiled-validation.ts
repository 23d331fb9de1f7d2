// Runs the compiled validators (compiled/validators.js, generated from the zod schemas by
// scripts/compile-validators.ts) and reports what they find as field issues. This is how the proxy checks
// what it receives: as strictly as zod would, without loading zod. No schema library is imported here.

import type { CompiledError, CompiledValidator } from './compiled/validators.js';
import * as compiled from './compiled/validators.js';
import type { ResourceType } from './resource-types.ts';
import type { FieldIssue } from './validate.ts';

/** `/listeners/0/port` as `listeners[0].port`. */
function pathOf(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

function issueOf(error: CompiledError): FieldIssue {
  const at = pathOf(error.instancePath);
  const join = (field: string) => (at === '' ? field : `${at}.${field}`);
  const p = error.params;
  switch (error.keyword) {
    case 'additionalProperties':
      return { path: at || '(root)', message: `unknown field "${String(p.additionalProperty)}"` };
    case 'required':
      return { path: join(String(p.missingProperty)), message: 'required' };
    case 'enum':
      return {
        path: at || '(root)',
        message: `expected one of ${(p.allowedValues as unknown[]).join(', ')}`,
      };
    case 'const':
      return { path: at || '(root)', message: `expected ${JSON.stringify(p.allowedValue)}` };
    case 'type':
      return { path: at || '(root)', message: `expected ${String(p.type)}` };
    case 'anyOf':
    case 'oneOf':
      return { path: at || '(root)', message: 'matches none of the shapes allowed here' };
    default:
      return { path: at || '(root)', message: error.message ?? error.keyword };
  }
}

/** Runs one validator; [] when the value is valid (its defaults are then filled in, in place). */
export function runValidator(validate: CompiledValidator, value: unknown): FieldIssue[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map(issueOf);
}

const RESOURCE_VALIDATORS: Record<ResourceType, CompiledValidator> = {
  listener: compiled.resource_listener,
  routes: compiled.resource_routes,
  cluster: compiled.resource_cluster,
  endpoints: compiled.resource_endpoints,
  egress: compiled.resource_egress,
  telemetry: compiled.resource_telemetry,
  peers: compiled.resource_peers,
};

/** What is wrong with one discovery resource's body, by its type; [] when nothing is. */
export function resourceIssues(type: ResourceType, resource: unknown): FieldIssue[] {
  const issues = runValidator(RESOURCE_VALIDATORS[type], resource);
  if (issues.length > 0 || type !== 'routes') return issues;
  return routeActionIssues((resource as { virtualHosts: RouteHolder[] }).virtualHosts, 'virtualHosts');
}

/** A discovery stream message ([] when it is one), or a delta's issues when it is a delta. */
export function discoveryMessageIssues(value: unknown): FieldIssue[] {
  return runValidator(compiled.discoveryMessage, value);
}

export function deltaMessageIssues(value: unknown): FieldIssue[] {
  return runValidator(compiled.deltaMessage, value);
}

/** The snapshot's shape ([] when valid, defaults then filled in), the route rule included. */
export function snapshotShapeIssues(value: unknown): FieldIssue[] {
  const issues = runValidator(compiled.snapshot, value);
  if (issues.length > 0) return issues;
  const listeners = (value as { listeners: { virtualHosts: RouteHolder[] }[] }).listeners;
  return listeners.flatMap((l, i) => routeActionIssues(l.virtualHosts, `listeners[${i}].virtualHosts`));
}

interface RouteHolder {
  routes: { route?: unknown; directResponse?: unknown }[];
}

/** The one rule JSON Schema does not carry from zod: a route has exactly one of route or directResponse. */
function routeActionIssues(virtualHosts: RouteHolder[], at: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  virtualHosts.forEach((vh, v) => {
    vh.routes.forEach((r, i) => {
      if ((r.route === undefined) === (r.directResponse === undefined))
        issues.push({
          path: `${at}[${v}].routes[${i}]`,
          message: 'a route needs exactly one of route or directResponse',
        });
    });
  });
  return issues;
}
