// The authorization verdict describe request gives: the described listener's AuthorizationPolicies run on
// the request with the proxy's own matching code (@strait/api/routing). describe knows no caller certificate
// or address, so the request is judged as from a plain-text caller: rules on principals, namespaces or
// addresses do not match it, which is what a gateway's outside callers are.
import { Errors, type Listener, ResponseFlags } from '@strait/api';
import { type AuthzRequest, CompiledAuthorization } from '@strait/api/routing';

export interface AuthorizationView {
  /** One line for the policies section. */
  policy: string;
  /** The proxy's answer when the request is refused; undefined when it goes on. */
  denied: string | undefined;
}

/** What the described listener's policies decide for the request. */
export function authorizationView(
  listener: Listener,
  request: { method: string; path: string; authority: string; headers: Record<string, string> },
): AuthorizationView {
  const config = listener.authorization;
  if (config === undefined) {
    const where =
      listener.kind === 'outbound'
        ? "none here; the destination's sidecar checks its own (straitctl x authz check <its proxy>)"
        : 'no AuthorizationPolicy applies: allowed';
    return { policy: `authorization: ${where}`, denied: undefined };
  }
  const query = request.path.indexOf('?');
  const input: AuthzRequest = {
    principal: '',
    sourceIp: '',
    destinationIp: '',
    serverName: '',
    method: request.method,
    path: query === -1 ? request.path : request.path.slice(0, query),
    host: request.authority,
    header: (name) => request.headers[name],
  };
  const verdict = new CompiledAuthorization(config).decide(input);
  const names = config.policies.map((p) => `${p.action} ${p.namespace}/${p.name}`).join(', ');
  const caller = 'for a plain-text caller';
  if (verdict.allowed) {
    const by = verdict.policy ? `allowed by ${verdict.policy}` : 'allowed (no DENY rule matched)';
    return { policy: `authorization (${names}): ${by} ${caller}`, denied: undefined };
  }
  const why = verdict.policy ? `DENY policy ${verdict.policy} matched` : 'no ALLOW rule matched';
  return {
    policy: `authorization (${names}): denied ${caller}, ${why}`,
    denied: `${Errors.RBAC_DENIED.status} ${ResponseFlags.RBAC_ACCESS_DENIED}: ${Errors.RBAC_DENIED.message} (${why})`,
  };
}
