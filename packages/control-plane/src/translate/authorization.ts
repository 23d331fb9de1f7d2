// AuthorizationPolicy in translation: which policies apply to a workload, by Istio's scoping (the root
// namespace without a selector: the mesh; elsewhere without one: its namespace; with one: the workloads it
// selects), turned into the plain data a listener's authorization filter compiles.
import type { AuthzPolicy, AuthzRule, ListenerAuthorization, NodeInfo } from '@strait/api';
import type { AuthorizationRule, Resource } from '@strait/api/resources';
import { labelsMatch, type MeshIndex, proxyLabels } from './mesh-index.ts';
import { ROOT_NAMESPACE } from './security.ts';

type Scope = AuthzPolicy['scope'];

/** The scope through which `policy` applies to `node`, or undefined when it does not. */
export function scopeOfPolicy(policy: Resource<'AuthorizationPolicy'>, node: NodeInfo): Scope | undefined {
  const ns = policy.metadata.namespace;
  const selector = policy.spec.selector;
  const root = ns === ROOT_NAMESPACE;
  if (!root && ns !== (node.namespace ?? 'default')) return undefined;
  if (selector === undefined) return root ? 'mesh' : 'namespace';
  // A root-namespace policy with a selector picks matching workloads of every namespace, as in Istio.
  return labelsMatch(selector.matchLabels, proxyLabels(node)) ? 'workload' : undefined;
}

/** Istio's rule shape without its `source`/`operation` wrappers, and with no empty lists. */
function plainRule(rule: AuthorizationRule): AuthzRule {
  const out: AuthzRule = {};
  if (rule.from) out.from = rule.from.map((f) => ({ ...f.source }));
  if (rule.to) out.to = rule.to.map((t) => ({ ...t.operation }));
  if (rule.when) out.when = rule.when.map((c) => ({ ...c }));
  return out;
}

const SCOPE_ORDER: Record<Scope, number> = { mesh: 0, namespace: 1, workload: 2 };

/** The policies in force on `node`, mesh-wide first, then its namespace's, then its own, each by name. */
export function policiesFor(
  policies: readonly Resource<'AuthorizationPolicy'>[],
  node: NodeInfo,
): AuthzPolicy[] {
  const out: AuthzPolicy[] = [];
  for (const policy of policies) {
    const scope = scopeOfPolicy(policy, node);
    if (scope === undefined) continue;
    out.push({
      name: policy.metadata.name,
      namespace: policy.metadata.namespace,
      action: policy.spec.action,
      scope,
      rules: (policy.spec.rules ?? []).map(plainRule),
    });
  }
  return out.sort(
    (a, b) =>
      SCOPE_ORDER[a.scope] - SCOPE_ORDER[b.scope] ||
      a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name),
  );
}

/** What a listener of `node` taking requests for `destinationPort` enforces; undefined when no policy applies. */
export function listenerAuthorization(
  index: MeshIndex,
  node: NodeInfo,
  destinationPort: number,
): ListenerAuthorization | undefined {
  if (index.authorizationPolicies.length === 0) return undefined;
  const policies = policiesFor(index.authorizationPolicies, node);
  return policies.length === 0 ? undefined : { destinationPort, policies };
}
