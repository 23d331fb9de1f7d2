// Egress: where a forward-proxy request goes (target parsing) and whether it may (the allow-list).

export { formatAuthority, type HostKind, normalizeHost, parseAuthority } from './host.ts';
export { canonicalIp, isInternalAddress, parseIp } from './ip.ts';
export {
  DENY_CONTENT_TYPE,
  denyBody,
  denyError,
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
  type ForwardRequest,
  type ForwardTarget,
  type ForwardTargetError,
  type ForwardTargetResult,
  parseForwardTarget,
} from './target.ts';
