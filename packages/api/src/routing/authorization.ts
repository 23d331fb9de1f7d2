// Istio's AuthorizationPolicy semantics as pure code (Envoy's RBAC as Istio configures it): a listener's
// policies compiled once; per request, DENY rules first, then, if the workload has any ALLOW policy, a request
// no ALLOW rule matches is refused. The proxy's filter runs it per request; straitctl describe, to explain one.
import type {
  AuthzCondition,
  AuthzOperation,
  AuthzPolicy,
  AuthzRule,
  AuthzSource,
  ListenerAuthorization,
} from '../snapshot.ts';
import {
  addressesOf,
  anyOf,
  inAndNotIn,
  namespaceOfPrincipal,
  portsOf,
  type ValueMatcher,
} from './authz-match.ts';

/** What the rules look at in one request. */
export interface AuthzRequest {
  /** The caller's SPIFFE ID without `spiffe://` (`cluster.local/ns/default/sa/service-a`); '' over plain text. */
  readonly principal: string;
  readonly sourceIp: string;
  readonly destinationIp: string;
  /** The TLS server name the caller sent; ''. */
  readonly serverName: string;
  readonly method: string;
  /** The normalized path, without its query string. */
  readonly path: string;
  /** The request's authority (Host), as sent. */
  readonly host: string;
  /** A request header's value (repeated fields joined), by lower-case name. */
  header(name: string): string | undefined;
}

/** The verdict on one request, and the policy that decided it when one did. */
export interface AuthzVerdict {
  readonly allowed: boolean;
  /** `namespace/name` of the DENY policy that matched, or of the ALLOW policy that allowed. */
  readonly policy: string | undefined;
}

type Check = (request: AuthzRequest) => boolean;

const always: Check = () => true;

/** All of `checks` (none: always true). */
function all(checks: Check[]): Check {
  if (checks.length === 0) return always;
  if (checks.length === 1) return checks[0] as Check;
  return (r) => checks.every((c) => c(r));
}

/** Any of `checks`. */
function any(checks: Check[]): Check {
  if (checks.length === 1) return checks[0] as Check;
  return (r) => checks.some((c) => c(r));
}

/** Adds a check of `attribute` when the field or its `not*` twin is set. */
function field(
  checks: Check[],
  values: readonly string[] | undefined,
  notValues: readonly string[] | undefined,
  build: (list: readonly string[]) => ValueMatcher,
  attribute: (r: AuthzRequest) => string,
): void {
  const matcher = inAndNotIn(values, notValues, build);
  if (matcher) checks.push((r) => matcher(attribute(r)));
}

const principalOf = (r: AuthzRequest) => r.principal;
const namespaceOf = (r: AuthzRequest) => namespaceOfPrincipal(r.principal);
const sourceIpOf = (r: AuthzRequest) => r.sourceIp;
const exactly = (list: readonly string[]) => anyOf(list);

function sourceCheck(s: AuthzSource): Check {
  const checks: Check[] = [];
  field(checks, s.principals, s.notPrincipals, exactly, principalOf);
  field(checks, s.namespaces, s.notNamespaces, exactly, namespaceOf);
  field(checks, s.ipBlocks, s.notIpBlocks, addressesOf, sourceIpOf);
  // Without trusted proxies (Istio's default numTrustedProxies 0) the remote address is the peer's.
  field(checks, s.remoteIpBlocks, s.notRemoteIpBlocks, addressesOf, sourceIpOf);
  return all(checks);
}

/** A host with its port, if any, removed (`[::1]:80` keeps its brackets). */
function withoutPort(host: string): string {
  const colon = host.lastIndexOf(':');
  return colon === -1 || host.endsWith(']') ? host : host.slice(0, colon);
}

function operationCheck(o: AuthzOperation, destinationPort: string): Check | undefined {
  // The destination port is the listener's: an operation whose ports rule it out can never match.
  const ports = inAndNotIn(o.ports, o.notPorts, portsOf);
  if (ports && !ports(destinationPort)) return undefined;
  const checks: Check[] = [];
  // Hosts compare case-insensitively, with or without the authority's port.
  const hostOrName = (list: readonly string[]): ValueMatcher => {
    const m = anyOf(list, true);
    return (h) => m(h) || m(withoutPort(h));
  };
  field(checks, o.hosts, o.notHosts, hostOrName, (r) => r.host);
  field(checks, o.methods, o.notMethods, exactly, (r) => r.method);
  field(checks, o.paths, o.notPaths, exactly, (r) => r.path);
  return all(checks);
}

/** A `when` key's reader; undefined for a key the control plane should have refused. */
function conditionAttribute(key: string, destinationPort: string): ((r: AuthzRequest) => string) | undefined {
  if (key.startsWith('request.headers[') && key.endsWith(']')) {
    const name = key.slice('request.headers['.length, -1).toLowerCase();
    return (r) => r.header(name) ?? '';
  }
  switch (key) {
    case 'source.ip':
    case 'remote.ip':
      return sourceIpOf;
    case 'destination.ip':
      return (r) => r.destinationIp;
    case 'source.principal':
      return principalOf;
    case 'source.namespace':
      return namespaceOf;
    case 'destination.port':
      return () => destinationPort;
    case 'connection.sni':
      return (r) => r.serverName;
    default:
      return undefined;
  }
}

function conditionCheck(c: AuthzCondition, destinationPort: string): Check {
  const attribute = conditionAttribute(c.key, destinationPort);
  // An unknown key matches nothing: a policy is never widened by what the proxy cannot read.
  if (!attribute) return () => false;
  const build = c.key.endsWith('.ip') ? addressesOf : c.key === 'destination.port' ? portsOf : exactly;
  const matcher = inAndNotIn(c.values, c.notValues, build) ?? (() => true);
  return (r) => matcher(attribute(r));
}

/** A rule: each of from / to / when that is set must match; within a list, any item. */
function ruleCheck(rule: AuthzRule, destinationPort: string): Check | undefined {
  const checks: Check[] = [];
  if (rule.from) checks.push(any(rule.from.map(sourceCheck)));
  if (rule.to) {
    const ops = rule.to.map((o) => operationCheck(o, destinationPort)).filter((c) => c !== undefined);
    if (ops.length === 0) return undefined;
    checks.push(any(ops));
  }
  if (rule.when) checks.push(all(rule.when.map((c) => conditionCheck(c, destinationPort))));
  return all(checks);
}

interface CompiledPolicy {
  readonly id: string;
  /** undefined: no rule can match (no rules, or none for this port). */
  readonly matches: Check | undefined;
}

function compilePolicy(policy: AuthzPolicy, destinationPort: string): CompiledPolicy {
  const rules = policy.rules.map((r) => ruleCheck(r, destinationPort)).filter((c) => c !== undefined);
  return { id: `${policy.namespace}/${policy.name}`, matches: rules.length === 0 ? undefined : any(rules) };
}

/** A listener's policies, compiled: `decide` is all a request costs. */
export class CompiledAuthorization {
  readonly #deny: CompiledPolicy[];
  readonly #allow: CompiledPolicy[];
  /** Some ALLOW policy applies: what no ALLOW rule matches is refused. */
  readonly #allowListed: boolean;

  constructor(config: ListenerAuthorization) {
    const port = String(config.destinationPort);
    this.#deny = config.policies.filter((p) => p.action === 'DENY').map((p) => compilePolicy(p, port));
    const allow = config.policies.filter((p) => p.action === 'ALLOW');
    this.#allowListed = allow.length > 0;
    this.#allow = allow.map((p) => compilePolicy(p, port)).filter((p) => p.matches !== undefined);
  }

  decide(request: AuthzRequest): AuthzVerdict {
    for (const policy of this.#deny)
      if (policy.matches?.(request)) return { allowed: false, policy: policy.id };
    if (!this.#allowListed) return { allowed: true, policy: undefined };
    for (const policy of this.#allow)
      if (policy.matches?.(request)) return { allowed: true, policy: policy.id };
    return { allowed: false, policy: undefined };
  }
}

/** Compiles a listener's authorization; undefined when no policy applies (the filter then costs nothing). */
export function compileAuthorization(
  config: ListenerAuthorization | undefined,
): CompiledAuthorization | undefined {
  return config === undefined ? undefined : new CompiledAuthorization(config);
}
