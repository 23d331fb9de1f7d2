// CONSISTENT_HASH: a Ketama-style hash ring. Every host gets 100 x weight points on a 32-bit ring
// (MD5 of "key#n", four points per digest); a request's hash key goes to the next point clockwise,
// so removing a host moves only the keys that host owned. The ring is rebuilt only when the set of
// hosts (or a weight) changes. A request without a hash key gets a weighted random host.
import { hash } from 'node:crypto';
import { pickWeighted } from './random.ts';
import type { LbHost, LoadBalancer, RandomSource } from './types.ts';

/** Points per unit of weight. */
export const POINTS_PER_WEIGHT = 100;
/** Upper bound on ring size; larger weight sums are scaled down proportionally. */
const MAX_POINTS = 100_000;

interface Ring {
  /** Sorted ring positions. */
  readonly points: Uint32Array;
  /** For each position, the index of its host in the host list the ring was built from. */
  readonly owners: Uint32Array;
}

export class RingHashBalancer implements LoadBalancer {
  readonly #random: RandomSource;
  #hosts: readonly LbHost[] | undefined;
  #signature = '';
  #ring: Ring | undefined;
  /** How many times a ring was built; tests use it to check rebuilds happen only on change. */
  builds = 0;

  constructor(random: RandomSource = Math.random) {
    this.#random = random;
  }

  pick<H extends LbHost>(hosts: readonly H[], ctx: { hashKey?: string }): H | undefined {
    if (hosts.length <= 1) return hosts[0];
    if (ctx.hashKey === undefined) return pickWeighted(hosts, this.#random);
    const ring = this.#ringFor(hosts);
    const owner = ring.owners[findPoint(ring.points, hash32(ctx.hashKey))];
    return owner === undefined ? hosts[0] : hosts[owner];
  }

  #ringFor(hosts: readonly LbHost[]): Ring {
    if (hosts === this.#hosts && this.#ring !== undefined) return this.#ring;
    const signature = hosts.map((h) => `${h.key}*${h.weight}`).join(' ');
    if (signature !== this.#signature || this.#ring === undefined) {
      this.#ring = buildRing(hosts);
      this.#signature = signature;
      this.builds++;
    }
    this.#hosts = hosts;
    return this.#ring;
  }
}

function buildRing(hosts: readonly LbHost[]): Ring {
  let totalWeight = 0;
  for (const host of hosts) totalWeight += host.weight;
  const scale = Math.min(1, MAX_POINTS / (totalWeight * POINTS_PER_WEIGHT));
  const entries: Array<[number, number]> = [];
  hosts.forEach((host, index) => {
    const count = Math.max(4, Math.round(host.weight * POINTS_PER_WEIGHT * scale));
    for (let n = 0; n * 4 < count; n++) {
      const digest = hash('md5', `${host.key}#${n}`, 'buffer');
      for (let part = 0; part < 4 && n * 4 + part < count; part++) {
        entries.push([digest.readUInt32LE(part * 4), index]);
      }
    }
  });
  // Ties on a position are broken by host key so the ring does not depend on input order.
  entries.sort((x, y) => x[0] - y[0] || compareKeys(hosts, x[1], y[1]));
  const points = new Uint32Array(entries.length);
  const owners = new Uint32Array(entries.length);
  entries.forEach(([point, owner], i) => {
    points[i] = point;
    owners[i] = owner;
  });
  return { points, owners };
}

function compareKeys(hosts: readonly LbHost[], a: number, b: number): number {
  const ka = hosts[a]?.key ?? '';
  const kb = hosts[b]?.key ?? '';
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The 32-bit ring position of a string. */
export function hash32(value: string): number {
  return hash('md5', value, 'buffer').readUInt32LE(0);
}

/** Index of the first point >= h, wrapping to 0 past the end. */
function findPoint(points: Uint32Array, h: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid] ?? 0) < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}
