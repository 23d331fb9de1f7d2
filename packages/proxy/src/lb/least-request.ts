// LEAST_REQUEST: the power of two choices. Draw two different hosts at random and take the one with
// fewer requests in flight per unit of weight; cheap, and it steers new requests away from busy hosts.
import type { LbHost, LoadBalancer, RandomSource } from './types.ts';

export class LeastRequestBalancer implements LoadBalancer {
  readonly #random: RandomSource;

  constructor(random: RandomSource = Math.random) {
    this.#random = random;
  }

  pick<H extends LbHost>(hosts: readonly H[]): H | undefined {
    const n = hosts.length;
    if (n <= 1) return hosts[0];
    const i = Math.floor(this.#random() * n);
    let j = Math.floor(this.#random() * (n - 1));
    if (j >= i) j++;
    const a = hosts[i];
    const b = hosts[j];
    if (a === undefined || b === undefined) return a ?? b;
    // +1 so that among idle hosts the heavier one still wins.
    return load(b) < load(a) ? b : a;
  }
}

function load(host: LbHost): number {
  return (host.activeRequests + 1) / host.weight;
}
