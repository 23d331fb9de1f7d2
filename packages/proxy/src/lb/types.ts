// The load balancer contract: given the hosts eligible right now, pick one (Envoy's chooseHost).
// Balancers only read a host's key, weight and in-flight count, so they test without real pools.

/** What a balancer needs to know about a host. `Host` from upstream/host.ts satisfies it. */
export interface LbHost {
  /** Stable identity, `address:port`. */
  readonly key: string;
  /** Relative weight, at least 1. */
  readonly weight: number;
  /** Requests in flight to this host right now. */
  readonly activeRequests: number;
}

/** Per-request input to a pick. */
export interface PickContext {
  /** For CONSISTENT_HASH: the value computed from the cluster's hash policy. */
  hashKey?: string;
}

export interface LoadBalancer {
  /** Picks one of `hosts` (already filtered to the eligible ones); undefined only when `hosts` is empty. */
  pick<H extends LbHost>(hosts: readonly H[], ctx: PickContext): H | undefined;
}

/** A source of uniform numbers in [0, 1); injectable so tests are deterministic. */
export type RandomSource = () => number;
