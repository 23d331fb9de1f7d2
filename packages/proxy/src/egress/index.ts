// Egress: where a forward-proxy request goes (target parsing) and whether it may (the allow-list).

export { formatAuthority, type HostKind, normalizeHost, parseAuthority } from './host.ts';
export { canonicalIp, isInternalAddress, parseIp } from './ip.ts';
export {
  DENY_CONTENT_TYPE,
  denyBody,
  denyError,
  denyReasonLabel,
  denyTarget,
  type EgressAllowed,
  type EgressDecision,
  type EgressDenied,
  type EgressDenyCode,
  EgressPolicyChecker,
  type EgressPolicyOptions,
  type LookupFn,
} from './policy.ts';
export {
  DEFAULT_DNS_CACHE_TTL_MS,
  DEFAULT_LOOKUP_TIMEOUT_MS,
  Resolver,
  type ResolverOptions,
  systemLookup,
} from './resolver.ts';
export {
  type ForwardRequest,
  type ForwardTarget,
  type ForwardTargetError,
  type ForwardTargetResult,
  parseForwardTarget,
} from './target.ts';
