// ROUND_ROBIN: smooth weighted round robin (the nginx algorithm). Deterministic, and it spreads a heavy
// host's turns through the cycle instead of bunching them: weights 5:1:1 give a a b a c a a.
import type { LbHost, LoadBalancer } from './types.ts';

export class RoundRobinBalancer implements LoadBalancer {
  /** Each host's running "current weight", by key. */
  readonly #current = new Map<string, number>();

  pick<H extends LbHost>(hosts: readonly H[]): H | undefined {
    if (hosts.length <= 1) return hosts[0];
    let total = 0;
    let best: H | undefined;
    let bestCurrent = Number.NEGATIVE_INFINITY;
    for (const host of hosts) {
      const current = (this.#current.get(host.key) ?? 0) + host.weight;
      this.#current.set(host.key, current);
      total += host.weight;
      if (current > bestCurrent) {
        best = host;
        bestCurrent = current;
      }
    }
    if (best === undefined) return undefined;
    this.#current.set(best.key, bestCurrent - total);
    if (this.#current.size > hosts.length * 2 + 8) this.#forgetOthers(hosts);
    return best;
  }

  /** Drops the state of hosts that have not been offered lately, so churn cannot grow the map. */
  #forgetOthers(hosts: readonly LbHost[]): void {
    const keep = new Set(hosts.map((h) => h.key));
    for (const key of this.#current.keys()) if (!keep.has(key)) this.#current.delete(key);
  }
}
