// RANDOM: weighted random choice; each host is picked with probability weight / total weight.
import type { LbHost, LoadBalancer, RandomSource } from './types.ts';

export class RandomBalancer implements LoadBalancer {
  readonly #random: RandomSource;

  constructor(random: RandomSource = Math.random) {
    this.#random = random;
  }

  pick<H extends LbHost>(hosts: readonly H[]): H | undefined {
    return pickWeighted(hosts, this.#random);
  }
}

/** One weighted random draw over `hosts`. */
export function pickWeighted<H extends LbHost>(hosts: readonly H[], random: RandomSource): H | undefined {
  if (hosts.length <= 1) return hosts[0];
  let total = 0;
  for (const host of hosts) total += host.weight;
  let point = random() * total;
  for (const host of hosts) {
    point -= host.weight;
    if (point < 0) return host;
  }
  return hosts[hosts.length - 1];
}
