// The proxy's HTTP filter building blocks: local rate limit, fault injection, mirroring decision, header ops.
export { decideFault, decideMirror, type FaultDecision } from './fault.ts';
export { applyHeaderOps, type CompiledHeaderOps, compileHeaderOps, type HeaderObject } from './header-ops.ts';
export { TokenBucketLimiter } from './rate-limit.ts';
