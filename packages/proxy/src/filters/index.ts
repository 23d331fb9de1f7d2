// The HTTP filters: one contract, one file each, run in order by the chain; the router is the terminal one.
export { authorizationFilter } from './authorization.ts';
export { FilterChain } from './chain.ts';
export { directResponseFilter } from './direct-response.ts';
export { decideFault, decideMirror, type FaultDecision, faultFilter } from './fault.ts';
export { applyHeaderOps, type CompiledHeaderOps, compileHeaderOps, headerOpsFilter } from './header-ops.ts';
export { rateLimitFilter, TokenBucketLimiter } from './rate-limit.ts';
export type { FilterResult, HttpFilter } from './types.ts';
