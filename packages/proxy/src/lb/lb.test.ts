// Load balancer tests: each policy's distribution against the weights, and the ring's stability.
import { describe, expect, it } from 'vitest';
import { LeastRequestBalancer } from './least-request.ts';
import { RandomBalancer } from './random.ts';
import { createLoadBalancer } from './registry.ts';
import { RingHashBalancer } from './ring-hash.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import type { LbHost } from './types.ts';

/** A small seeded PRNG (mulberry32) so the statistical tests are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hosts(...weights: number[]): Array<LbHost & { activeRequests: number }> {
  return weights.map((weight, i) => ({ key: `127.0.101.${i + 1}:8080`, weight, activeRequests: 0 }));
}

function shares(picks: Map<string, number>, list: readonly LbHost[], total: number): number[] {
  return list.map((h) => (picks.get(h.key) ?? 0) / total);
}

function count(n: number, pick: (i: number) => LbHost | undefined): Map<string, number> {
  const picks = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const host = pick(i);
    if (host) picks.set(host.key, (picks.get(host.key) ?? 0) + 1);
  }
  return picks;
}

describe('registry', () => {
  it('creates each policy by name and rejects unknown names', () => {
    expect(createLoadBalancer('ROUND_ROBIN')).toBeInstanceOf(RoundRobinBalancer);
    expect(createLoadBalancer('LEAST_REQUEST')).toBeInstanceOf(LeastRequestBalancer);
    expect(createLoadBalancer('RANDOM')).toBeInstanceOf(RandomBalancer);
    expect(createLoadBalancer('CONSISTENT_HASH')).toBeInstanceOf(RingHashBalancer);
    // biome-ignore lint/suspicious/noExplicitAny: deliberately bad input
    expect(() => createLoadBalancer('MAGLEV' as any)).toThrow(/unknown load balancing policy/);
  });

  it('every policy returns undefined for no hosts and the only host for one', () => {
    for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'CONSISTENT_HASH'] as const) {
      const lb = createLoadBalancer(policy);
      expect(lb.pick([], { hashKey: 'k' })).toBeUndefined();
      const [only] = hosts(3);
      expect(lb.pick([only as LbHost], { hashKey: 'k' })).toBe(only);
    }
  });
});

describe('ROUND_ROBIN (smooth weighted)', () => {
  it('is exact over one cycle and interleaves the heavy host', () => {
    const list = hosts(5, 1, 1);
    const lb = new RoundRobinBalancer();
    const names = Array.from({ length: 7 }, () => lb.pick(list)?.key.split('.')[3]?.[0]);
    // nginx's documented sequence for 5:1:1 is a a b a c a a.
    expect(names.join('')).toBe('1121311');
  });

  it('gives exactly weight picks per host in every cycle of sum(weights)', () => {
    const list = hosts(1, 2, 7);
    const lb = new RoundRobinBalancer();
    for (let cycle = 0; cycle < 50; cycle++) {
      const picks = count(10, () => lb.pick(list));
      expect(list.map((h) => picks.get(h.key))).toEqual([1, 2, 7]);
    }
  });

  it('keeps going when the host set changes', () => {
    const list = hosts(1, 1, 1);
    const lb = new RoundRobinBalancer();
    const two = list.slice(0, 2);
    const picks = count(100, () => lb.pick(two));
    expect([...picks.values()]).toEqual([50, 50]);
  });
});

describe('RANDOM (weighted)', () => {
  it('matches weights 1:2:7 within ±1 percentage point over 100k picks', () => {
    const list = hosts(1, 2, 7);
    const lb = new RandomBalancer(seeded(42));
    const picks = count(100_000, () => lb.pick(list));
    const got = shares(picks, list, 100_000);
    [0.1, 0.2, 0.7].forEach((want, i) => {
      expect(Math.abs((got[i] ?? 0) - want)).toBeLessThan(0.01);
    });
  });
});

describe('LEAST_REQUEST (power of two choices)', () => {
  it('spreads evenly across equal idle hosts', () => {
    const list = hosts(1, 1, 1, 1);
    const lb = new LeastRequestBalancer(seeded(7));
    const picks = count(100_000, () => lb.pick(list));
    for (const share of shares(picks, list, 100_000)) expect(Math.abs(share - 0.25)).toBeLessThan(0.01);
  });

  it('prefers idle hosts over busy ones', () => {
    const list = hosts(1, 1, 1, 1);
    for (const h of list.slice(1)) h.activeRequests = 10;
    const lb = new LeastRequestBalancer(seeded(9));
    const picks = count(10_000, () => lb.pick(list));
    // The idle host wins every draw it is part of: 2 of the 4x3 ordered pairs miss it -> share 1/2.
    const idleShare = (picks.get(list[0]?.key ?? '') ?? 0) / 10_000;
    expect(idleShare).toBeGreaterThan(0.45);
    expect(idleShare).toBeLessThan(0.55);
  });

  it('with load tracked, keeps in-flight counts balanced', () => {
    const list = hosts(1, 1, 1);
    const lb = new LeastRequestBalancer(seeded(11));
    for (let i = 0; i < 300; i++) {
      const h = lb.pick(list);
      if (h) h.activeRequests++;
    }
    const counts = list.map((h) => h.activeRequests);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(2);
  });

  it('divides load by weight', () => {
    const list = hosts(1, 4);
    const lb = new LeastRequestBalancer(seeded(13));
    for (let i = 0; i < 500; i++) {
      const h = lb.pick(list);
      if (h) h.activeRequests++;
    }
    const [light, heavy] = list.map((h) => h.activeRequests);
    expect((heavy ?? 0) / (light ?? 1)).toBeGreaterThan(3.5);
    expect((heavy ?? 0) / (light ?? 1)).toBeLessThan(4.5);
  });
});

describe('CONSISTENT_HASH (ring)', () => {
  const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

  it('sends the same key to the same host', () => {
    const list = hosts(1, 1, 1, 1, 1);
    const lb = new RingHashBalancer();
    for (const key of keys.slice(0, 200)) {
      const first = lb.pick(list, { hashKey: key });
      expect(lb.pick(list, { hashKey: key })).toBe(first);
      // A different balancer (another proxy) agrees, and host order does not matter.
      expect(new RingHashBalancer().pick([...list].reverse(), { hashKey: key })?.key).toBe(first?.key);
    }
  });

  it('splits keys roughly by weight', () => {
    const list = hosts(1, 1, 2);
    const lb = new RingHashBalancer();
    const picks = count(keys.length, (i) => lb.pick(list, { hashKey: keys[i] ?? '' }));
    const got = shares(picks, list, keys.length);
    // 100 points per weight unit: expect within ±5 pp of 25/25/50.
    [0.25, 0.25, 0.5].forEach((want, i) => {
      expect(Math.abs((got[i] ?? 0) - want)).toBeLessThan(0.05);
    });
  });

  it('removing one host remaps only about its share of keys', () => {
    const list = hosts(1, 1, 1, 1, 1);
    const lb = new RingHashBalancer();
    const before = keys.map((k) => lb.pick(list, { hashKey: k })?.key);
    const removed = list[2]?.key;
    const after = keys.map(
      (k) =>
        lb.pick(
          list.filter((h) => h.key !== removed),
          { hashKey: k },
        )?.key,
    );
    let moved = 0;
    let movedFromOthers = 0;
    keys.forEach((_, i) => {
      if (before[i] !== after[i]) {
        moved++;
        if (before[i] !== removed) movedFromOthers++;
      }
    });
    expect(movedFromOthers).toBe(0);
    // Its share is about 1/5; allow 12-28 %.
    expect(moved / keys.length).toBeGreaterThan(0.12);
    expect(moved / keys.length).toBeLessThan(0.28);
  });

  it('builds the ring once per host set', () => {
    const list = hosts(1, 1, 1);
    const lb = new RingHashBalancer();
    for (const k of keys.slice(0, 100)) lb.pick(list, { hashKey: k });
    lb.pick([...list], { hashKey: 'x' }); // a new array with the same hosts: no rebuild
    expect(lb.builds).toBe(1);
    lb.pick(list.slice(0, 2), { hashKey: 'x' });
    expect(lb.builds).toBe(2);
  });

  it('without a hash key falls back to weighted random', () => {
    const list = hosts(1, 3);
    const lb = new RingHashBalancer(seeded(5));
    const picks = count(20_000, () => lb.pick(list, {}));
    const got = shares(picks, list, 20_000);
    expect(Math.abs((got[1] ?? 0) - 0.75)).toBeLessThan(0.02);
  });
});
