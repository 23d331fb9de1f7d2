// Load balancing: the contract, the four policies and the by-name registry.
export { LeastRequestBalancer } from './least-request.ts';
export { pickWeighted, RandomBalancer } from './random.ts';
export { createLoadBalancer, LB_POLICIES, type LoadBalancerOptions } from './registry.ts';
export { hash32, POINTS_PER_WEIGHT, RingHashBalancer } from './ring-hash.ts';
export { RoundRobinBalancer } from './round-robin.ts';
export type { LbHost, LoadBalancer, PickContext, RandomSource } from './types.ts';
