// Tests for CompiledRoute's helpers: weighted cluster choice and Istio-style prefix rewriting.
import type { Route, RouteMatch, WeightedCluster } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { CompiledRoute } from './compiled-route.ts';

/** A small deterministic generator (mulberry32), so the distribution test cannot flake. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted(clusters: WeightedCluster[]): CompiledRoute {
  return new CompiledRoute('vh', { name: 'r', match: {}, route: { clusters } }, 'test');
}

function rewriting(match: RouteMatch, prefix: string | undefined): CompiledRoute {
  const route: Route = {
    name: 'r',
    match,
    route: {
      clusters: [{ cluster: 'c', weight: 1 }],
      ...(prefix === undefined ? {} : { rewrite: { prefix } }),
    },
  };
  return new CompiledRoute('vh', route, 'test');
}

function shares(route: CompiledRoute, draws: number, random: () => number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    const c = route.pickCluster(random);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const out = new Map<string, number>();
  for (const [c, n] of counts) out.set(c, (100 * n) / draws);
  return out;
}

describe('pickCluster', () => {
  it('follows the weights within 1.5 percentage points over 100k draws', () => {
    const route = weighted([
      { cluster: 'v1', weight: 70 },
      { cluster: 'v2', weight: 20 },
      { cluster: 'v3', weight: 10 },
    ]);
    const got = shares(route, 100_000, seededRandom(42));
    expect(Math.abs((got.get('v1') ?? 0) - 70)).toBeLessThan(1.5);
    expect(Math.abs((got.get('v2') ?? 0) - 20)).toBeLessThan(1.5);
    expect(Math.abs((got.get('v3') ?? 0) - 10)).toBeLessThan(1.5);
  });

  it('handles weights that do not add up to 100', () => {
    const route = weighted([
      { cluster: 'a', weight: 1 },
      { cluster: 'b', weight: 3 },
    ]);
    const got = shares(route, 100_000, seededRandom(7));
    expect(Math.abs((got.get('a') ?? 0) - 25)).toBeLessThan(1.5);
    expect(Math.abs((got.get('b') ?? 0) - 75)).toBeLessThan(1.5);
  });

  it('never picks a weight-0 cluster, even at the edges of the random range', () => {
    const route = weighted([
      { cluster: 'zero-first', weight: 0 },
      { cluster: 'a', weight: 50 },
      { cluster: 'zero-mid', weight: 0 },
      { cluster: 'b', weight: 50 },
      { cluster: 'zero-last', weight: 0 },
    ]);
    expect(route.pickCluster(() => 0)).toBe('a');
    expect(route.pickCluster(() => 0.4999)).toBe('a');
    expect(route.pickCluster(() => 0.5)).toBe('b');
    expect(route.pickCluster(() => 0.999999)).toBe('b');
    const got = shares(route, 10_000, seededRandom(1));
    expect([...got.keys()].sort()).toEqual(['a', 'b']);
  });

  it('draws no random number when only one cluster can be chosen', () => {
    const noRandom = () => {
      throw new Error('random must not be called');
    };
    expect(weighted([{ cluster: 'only', weight: 100 }]).pickCluster(noRandom)).toBe('only');
    expect(weighted([{ cluster: 'only', weight: 0 }]).pickCluster(noRandom)).toBe('only');
    expect(
      weighted([
        { cluster: 'off', weight: 0 },
        { cluster: 'on', weight: 5 },
      ]).pickCluster(noRandom),
    ).toBe('on');
  });

  it('falls back to the first cluster when every weight is 0', () => {
    const route = weighted([
      { cluster: 'a', weight: 0 },
      { cluster: 'b', weight: 0 },
    ]);
    expect(route.pickCluster(() => 0.9)).toBe('a');
  });
});

describe('rewritePath', () => {
  it('replaces the matched prefix and keeps the rest and the query', () => {
    const r = rewriting({ path: { prefix: '/api' } }, '/v2');
    expect(r.rewritePath('/api/users')).toBe('/v2/users');
    expect(r.rewritePath('/api/users?id=1&x=y')).toBe('/v2/users?id=1&x=y');
    expect(r.rewritePath('/api')).toBe('/v2');
    expect(r.rewritePath('/api?q')).toBe('/v2?q');
    expect(r.rewritePath('/apix')).toBe('/v2x');
  });

  it('rewrites to the root without doubling or losing the slash', () => {
    const r = rewriting({ path: { prefix: '/api' } }, '/');
    expect(r.rewritePath('/api/users')).toBe('/users');
    expect(r.rewritePath('/api')).toBe('/');
    expect(r.rewritePath('/api?x=1')).toBe('/?x=1');
    expect(r.rewritePath('/api/')).toBe('/');
    const slash = rewriting({ path: { prefix: '/api/' } }, '/');
    expect(slash.rewritePath('/api/users')).toBe('/users');
    const trailing = rewriting({ path: { prefix: '/api' } }, '/v2/');
    expect(trailing.rewritePath('/api/users')).toBe('/v2/users');
  });

  it('rewrites a root prefix match', () => {
    const r = rewriting({ path: { prefix: '/' } }, '/app/');
    expect(r.rewritePath('/')).toBe('/app/');
    expect(r.rewritePath('/x?y=1')).toBe('/app/x?y=1');
  });

  it('strips the prefix when the rewrite is empty, keeping a leading slash', () => {
    const r = rewriting({ path: { prefix: '/api/' } }, '');
    expect(r.rewritePath('/api/users')).toBe('/users');
    expect(r.rewritePath('/api/')).toBe('/');
  });

  it('replaces the whole path for exact, regex and no path match', () => {
    expect(rewriting({ path: { exact: '/old' } }, '/new').rewritePath('/old?a=1')).toBe('/new?a=1');
    expect(rewriting({ path: { regex: '/items/.*' } }, '/list').rewritePath('/items/9')).toBe('/list');
    expect(rewriting({}, '/fixed').rewritePath('/anything/else?z')).toBe('/fixed?z');
  });

  it('leaves the path alone without a rewrite', () => {
    expect(rewriting({ path: { prefix: '/api' } }, undefined).rewritePath('/api/x?y')).toBe('/api/x?y');
  });
});
