// A --workers proxy keeps one local rate limit and one connection limit per proxy, as Envoy does (its workers
// share them): each worker gets a share of every token bucket and connection cap, so together they never
// admit more than the limit.
import type { Snapshot, TokenBucket } from '@strait/api';

/**
 * Worker `index` of `count`'s share of a bucket: the same tokens per fill at `count` times the interval (the
 * rates add up exactly), and an even split of the burst (at least 1, so no worker refuses everything).
 */
export function bucketShare(bucket: TokenBucket, index: number, count: number): TokenBucket {
  return {
    maxTokens: evenShare(bucket.maxTokens, index, count),
    tokensPerFill: bucket.tokensPerFill,
    fillIntervalMs: bucket.fillIntervalMs * count,
  };
}

/** Worker `index` of `count`'s share of a whole number: an even split, at least 1. */
export function evenShare(total: number, index: number, count: number): number {
  return Math.max(1, Math.floor(total / count) + (index < total % count ? 1 : 0));
}

/**
 * The snapshot a worker applies: every listener and route rate limit, and every listener's connection
 * cap, replaced by the worker's share.
 */
export function shareLimits(snapshot: Snapshot, index: number, count: number): Snapshot {
  if (count <= 1) return snapshot;
  return {
    ...snapshot,
    listeners: snapshot.listeners.map((listener) => ({
      ...listener,
      ...(listener.rateLimit ? { rateLimit: bucketShare(listener.rateLimit, index, count) } : {}),
      ...(listener.maxConnections
        ? { maxConnections: evenShare(listener.maxConnections, index, count) }
        : {}),
      virtualHosts: listener.virtualHosts.map((host) => ({
        ...host,
        routes: host.routes.map((route) =>
          route.route?.rateLimit
            ? {
                ...route,
                route: { ...route.route, rateLimit: bucketShare(route.route.rateLimit, index, count) },
              }
            : route,
        ),
      })),
    })),
  };
}
