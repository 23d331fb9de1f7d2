// Tests how a --workers proxy splits its token buckets so the workers together keep the configured limit.
import type { Snapshot } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { bucketShare, shareLimits } from './rate-share.ts';

describe('bucketShare', () => {
  it('splits the burst exactly and keeps the summed refill rate', () => {
    const bucket = { maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 1000 };
    const shares = [0, 1, 2].map((i) => bucketShare(bucket, i, 3));
    expect(shares.map((s) => s.maxTokens)).toEqual([4, 3, 3]);
    const rate = shares.reduce((sum, s) => sum + s.tokensPerFill / s.fillIntervalMs, 0);
    expect(rate).toBeCloseTo(5 / 1000, 12);
  });

  it('gives every worker at least one token of burst', () => {
    expect(bucketShare({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 100 }, 1, 2).maxTokens).toBe(1);
  });
});

describe('shareLimits', () => {
  const limit = { maxTokens: 8, tokensPerFill: 2, fillIntervalMs: 500 };
  const snapshot = {
    version: 'v1',
    listeners: [
      {
        name: 'gateway',
        kind: 'gateway',
        port: 8080,
        rateLimit: limit,
        maxConnections: 5,
        virtualHosts: [
          {
            name: 'all',
            domains: ['*'],
            routes: [
              {
                name: 'limited',
                match: { path: { prefix: '/a' } },
                route: { clusters: [{ cluster: 'c', weight: 1 }], rateLimit: limit },
              },
              {
                name: 'open',
                match: { path: { prefix: '/' } },
                route: { clusters: [{ cluster: 'c', weight: 1 }] },
              },
            ],
          },
        ],
      },
    ],
    clusters: [],
  } as unknown as Snapshot;

  it('replaces listener and route buckets with the worker’s share and leaves the rest alone', () => {
    const shared = shareLimits(snapshot, 0, 2);
    const listener = shared.listeners[0];
    expect(listener?.rateLimit).toEqual({ maxTokens: 4, tokensPerFill: 2, fillIntervalMs: 1000 });
    const routes = listener?.virtualHosts[0]?.routes ?? [];
    expect(routes[0]?.route?.rateLimit).toEqual({ maxTokens: 4, tokensPerFill: 2, fillIntervalMs: 1000 });
    expect(routes[1]).toBe(snapshot.listeners[0]?.virtualHosts[0]?.routes[1]);
    expect(snapshot.listeners[0]?.rateLimit).toEqual(limit);
  });

  it('splits a listener’s connection cap so the workers together take no more', () => {
    expect([0, 1].map((i) => shareLimits(snapshot, i, 2).listeners[0]?.maxConnections)).toEqual([3, 2]);
    expect(shareLimits(snapshot, 3, 8).listeners[0]?.maxConnections).toBe(1);
  });

  it('changes nothing for a single process', () => {
    expect(shareLimits(snapshot, 0, 1)).toBe(snapshot);
  });
});
