// Load balancers chosen by policy name, Envoy style: one factory per name, an unknown name is an error.
import { Errors, type LbPolicy, StraitError } from '@strait/api';
import { LeastRequestBalancer } from './least-request.ts';
import { RandomBalancer } from './random.ts';
import { RingHashBalancer } from './ring-hash.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import type { LoadBalancer, RandomSource } from './types.ts';

export interface LoadBalancerOptions {
  /** Uniform [0, 1) source for the randomised policies; Math.random by default. */
  random?: RandomSource;
}

const factories: Record<LbPolicy, (opts: LoadBalancerOptions) => LoadBalancer> = {
  ROUND_ROBIN: () => new RoundRobinBalancer(),
  LEAST_REQUEST: (opts) => new LeastRequestBalancer(opts.random),
  RANDOM: (opts) => new RandomBalancer(opts.random),
  CONSISTENT_HASH: (opts) => new RingHashBalancer(opts.random),
};

/** A fresh balancer (with its own state) for `policy`. */
export function createLoadBalancer(policy: LbPolicy, opts: LoadBalancerOptions = {}): LoadBalancer {
  const factory = Object.hasOwn(factories, policy) ? factories[policy] : undefined;
  if (factory === undefined) {
    throw new StraitError(Errors.SNAPSHOT_INVALID, `unknown load balancing policy "${String(policy)}"`);
  }
  return factory(opts);
}

/** The policy names this proxy knows. */
export const LB_POLICIES = Object.keys(factories) as LbPolicy[];
