// straitctl x authz check PROXY (istioctl x authz check): the AuthorizationPolicies in force on a proxy's
// workload, per listener, as its snapshot carries them: action, name, scope (mesh, namespace or workload)
// and rule count, DENY first as the proxy checks them.
import { type AuthzPolicy, type Snapshot, snapshotPath } from '@strait/api';
import type { ControlPlaneClient } from '../client.ts';
import { type Io, table } from '../output.ts';

/** One policy in force on one listener of the proxy. */
export interface AuthzCheckRow {
  listener: string;
  action: AuthzPolicy['action'];
  name: string;
  namespace: string;
  scope: AuthzPolicy['scope'];
  rules: number;
}

const ORDER: Record<AuthzPolicy['action'], number> = { DENY: 0, ALLOW: 1, AUDIT: 2 };

/** The rows for a snapshot: every listener's policies, DENY before ALLOW before AUDIT. */
export function authzRows(snapshot: Snapshot): AuthzCheckRow[] {
  const rows: AuthzCheckRow[] = [];
  for (const listener of snapshot.listeners) {
    const policies = [...(listener.authorization?.policies ?? [])].sort(
      (a, b) => ORDER[a.action] - ORDER[b.action],
    );
    for (const p of policies)
      rows.push({
        listener: listener.name,
        action: p.action,
        name: p.name,
        namespace: p.namespace,
        scope: p.scope,
        rules: p.rules.length,
      });
  }
  return rows;
}

/** What a workload with these policies does with a request no rule names. */
function defaultVerdict(rows: readonly AuthzCheckRow[]): string {
  return rows.some((r) => r.action === 'ALLOW')
    ? 'a request no ALLOW rule matches is denied (403 RBAC)'
    : 'a request no DENY rule matches is allowed';
}

export async function authzCheck(
  client: ControlPlaneClient,
  io: Io,
  proxyId: string,
  output: string | undefined,
): Promise<number> {
  const snapshot = (await client.request('GET', snapshotPath(proxyId))) as Snapshot;
  const rows = authzRows(snapshot);
  if (output === 'json') {
    io.out(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    io.out(`No AuthorizationPolicy applies to ${proxyId}: every request is allowed.\n`);
    return 0;
  }
  io.out(
    table(
      ['ACTION', 'AuthorizationPolicy', 'SCOPE', 'RULES', 'LISTENER'],
      rows.map((r) => [r.action, `${r.name}.${r.namespace}`, r.scope, String(r.rules), r.listener]),
    ),
  );
  io.out(`\nChecked in order: DENY, then ALLOW; ${defaultVerdict(rows)}.\n`);
  return 0;
}
