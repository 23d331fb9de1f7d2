// A proxy's telemetry settings: the access log switch from MeshConfig, and tracing as Istio resolves it:
// MeshConfig's default provider at 1 %, then the root namespace's Telemetry, the proxy's namespace's, and
// the one whose selector matches its workload, each overriding what it sets. The provider's OpenTelemetry
// service and port become the collector the proxy exports to.
import type { NodeInfo, SnapshotInput, TracingSettings } from '@strait/api';
import type { Resource } from '@strait/api/resources';
import { labelsMatch, type MeshIndex, proxyLabels } from './mesh-index.ts';

/** Istio's root namespace: a Telemetry there without a selector applies to the whole mesh. */
export const ROOT_NAMESPACE = 'istio-system';

/** Istio's default share of traced requests. */
export const DEFAULT_SAMPLING_PERCENTAGE = 1;

type TelemetryInput = NonNullable<SnapshotInput['telemetry']>;

/** The Telemetry resources that apply to a proxy, least specific first. */
function applicable(index: MeshIndex, node: NodeInfo): Resource<'Telemetry'>[] {
  const namespace = node.namespace ?? 'default';
  const labels = proxyLabels(node);
  const rank = (t: Resource<'Telemetry'>): number => {
    if (t.spec.selector)
      return t.metadata.namespace === namespace && labelsMatch(t.spec.selector.matchLabels, labels) ? 3 : 0;
    if (t.metadata.namespace === namespace && namespace !== ROOT_NAMESPACE) return 2;
    return t.metadata.namespace === ROOT_NAMESPACE ? 1 : 0;
  };
  return index.telemetries
    .map((t) => ({ t, rank: rank(t) }))
    .filter((e) => e.rank > 0)
    .sort((a, b) => a.rank - b.rank || a.t.metadata.name.localeCompare(b.t.metadata.name))
    .map((e) => e.t);
}

/** Where a proxy's spans go and how many, or undefined when it reports none. */
export function tracingFor(index: MeshIndex, node: NodeInfo): TracingSettings | undefined {
  let provider = index.mesh.defaultProviders?.tracing?.[0];
  let percentage = DEFAULT_SAMPLING_PERCENTAGE;
  let disabled = false;
  for (const telemetry of applicable(index, node)) {
    const tracing = telemetry.spec.tracing?.[0];
    if (!tracing) continue;
    provider = tracing.providers?.[0]?.name ?? provider;
    percentage = tracing.randomSamplingPercentage ?? percentage;
    disabled = tracing.disableSpanReporting ?? disabled;
  }
  if (disabled || provider === undefined) return undefined;
  const otel = index.mesh.extensionProviders?.find((p) => p.name === provider)?.opentelemetry;
  if (!otel) return undefined;
  return {
    provider,
    samplingPercentage: percentage,
    collector: { host: otel.service, port: otel.port, path: otel.http?.path ?? '/v1/traces' },
  };
}

/**
 * The snapshot's telemetry part, one object per distinct content within a push, so proxies with the same
 * settings share it (and its discovery resource is hashed once).
 */
export class TelemetrySettingsCache {
  readonly #index: MeshIndex;
  readonly #byKey = new Map<string, TelemetryInput>();

  constructor(index: MeshIndex) {
    this.#index = index;
  }

  for(node: NodeInfo): TelemetryInput {
    const tracing = tracingFor(this.#index, node);
    const content: TelemetryInput = { accessLog: this.#index.mesh.accessLog ?? true };
    if (tracing) content.tracing = tracing;
    const key = JSON.stringify(content);
    let shared = this.#byKey.get(key);
    if (!shared) {
      shared = content;
      this.#byKey.set(key, shared);
    }
    return shared;
  }
}
