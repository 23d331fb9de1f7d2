// Checks across the tracing configuration: every provider a Telemetry resource or MeshConfig's
// defaultProviders names is one of MeshConfig's extensionProviders, provider names are unique, and a
// namespace has at most one Telemetry without a selector (which one would apply is otherwise a guess).
import { type ErrorSpec, Errors } from '../errors.ts';
import type { Resource } from './schemas.ts';
import { repeatedNames } from './unique.ts';

/** Reports one problem at a resource's field. */
export type IssueAt = (r: Resource, path: string, message: string, error?: ErrorSpec) => void;

export function checkTracingReferences(resources: readonly Resource[], at: IssueAt): void {
  const mesh = resources.find((r): r is Resource<'MeshConfig'> => r.kind === 'MeshConfig');
  const list = mesh?.spec.extensionProviders ?? [];
  const providers = new Set(list.map((p) => p.name));
  for (const { index, name } of repeatedNames(list, (p) => p.name))
    if (mesh)
      at(
        mesh,
        `spec.extensionProviders[${index}].name`,
        `expected a unique provider name; "${name}" is defined twice`,
        Errors.CONFIG_INVALID,
      );
  const known = providers.size > 0 ? [...providers].join(', ') : 'none are defined';
  const defaultTracing = mesh?.spec.defaultProviders?.tracing?.[0];
  if (mesh && defaultTracing !== undefined && !providers.has(defaultTracing))
    at(
      mesh,
      'spec.defaultProviders.tracing[0]',
      `provider "${defaultTracing}" is not one of spec.extensionProviders (${known})`,
    );

  const unselected = new Map<string, Resource>();
  for (const r of resources) {
    if (r.kind !== 'Telemetry') continue;
    const telemetry = r as Resource<'Telemetry'>;
    telemetry.spec.tracing?.forEach((tracing, i) => {
      tracing.providers?.forEach((provider, j) => {
        if (!providers.has(provider.name))
          at(
            r,
            `spec.tracing[${i}].providers[${j}].name`,
            `provider "${provider.name}" is not one of MeshConfig's extensionProviders (${known})`,
          );
      });
    });
    if (telemetry.spec.selector) continue;
    const first = unselected.get(r.metadata.namespace);
    if (first)
      at(
        r,
        'spec.selector',
        `expected a selector: Telemetry "${first.metadata.name}" already applies to all of namespace ${r.metadata.namespace}`,
        Errors.CONFIG_INVALID,
      );
    else unselected.set(r.metadata.namespace, r);
  }
}
