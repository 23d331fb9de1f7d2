// Validation in istiod's terms (galley_validation_passed / _failed, as its validating webhook counts them):
// every resource of an accepted change passed; every resource named by the issues of a refused one failed,
// with a reason. Label values follow Kubernetes: API group, version and plural resource name.
import { Errors } from '@strait/api';
import { apiVersionsOf, type ConfigIssue, KIND_NAMES, type Kind, type Resource } from '@strait/api/resources';
import type { ConfigStore } from '../config/types.ts';
import type { ControlPlaneTelemetry } from './metrics.ts';

/** Why a resource failed, by error code (Istio's words where its webhook has them). */
const REASONS: Record<string, string> = {
  [Errors.CONFIG_PARSE.code]: 'yaml_decode_error',
  [Errors.CONFIG_INVALID.code]: 'invalid_resource',
  [Errors.CONFIG_UNSUPPORTED.code]: 'unsupported_field',
  [Errors.CONFIG_UNKNOWN_FIELD.code]: 'unknown_field',
  [Errors.CONFIG_DANGLING_REF.code]: 'dangling_reference',
};

interface ResourceLabels {
  group: string;
  version: string;
  resource: string;
}

/** `networking.istio.io/v1` + VirtualService -> {group: networking.istio.io, version: v1, resource: virtualservices}. */
function labelsOf(kind: string | undefined, apiVersion: string | undefined): ResourceLabels {
  const known = kind !== undefined && (KIND_NAMES as string[]).includes(kind) ? (kind as Kind) : undefined;
  const preferred = known ? apiVersionsOf(known)[0] : undefined;
  const [group, version] = (apiVersion ?? preferred ?? '/').split('/');
  const lower = (kind ?? 'unknown').toLowerCase();
  const resource = lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`;
  return { group: group || 'unknown', version: version || 'unknown', resource };
}

/** Counts the store's validations from its events; every kind's series exists from the start, at zero. */
export function countValidations(store: ConfigStore, telemetry: ControlPlaneTelemetry): void {
  for (const kind of KIND_NAMES) {
    const labels = labelsOf(kind, undefined);
    telemetry.validationPassed.inc(labels, 0);
    telemetry.validationFailed.inc({ ...labels, reason: 'invalid_resource' }, 0);
  }
  store.on('change', ({ source, submitted }) => {
    if (source === 'startup') return;
    for (const r of submitted as readonly Resource[])
      telemetry.validationPassed.inc(labelsOf(r.kind, r.apiVersion));
  });
  store.on('rejected', ({ source, issues }) => {
    if (source === 'startup') return;
    // One count per document, with the reason of its first issue.
    const byDocument = new Map<string, ConfigIssue>();
    for (const issue of issues) {
      const key = `${issue.origin.file}\n${issue.origin.document}\n${issue.origin.item ?? ''}`;
      if (!byDocument.has(key)) byDocument.set(key, issue);
    }
    for (const issue of byDocument.values())
      telemetry.validationFailed.inc({
        ...labelsOf(issue.kind, issue.apiVersion),
        reason: REASONS[issue.error.code] ?? 'invalid_resource',
      });
  });
}
