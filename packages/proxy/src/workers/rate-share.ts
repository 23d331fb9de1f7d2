// A --workers proxy keeps one local rate limit per proxy, as Envoy does (its bucket is shared by all worker
// threads): each worker gets a share of every token bucket, so together they never admit more than the limit.
import type { Snapshot, TokenBucket } from '@strait/api';

/**
 * Worker `index` of `count`'s share of a bucket: the same tokens per fill at `count` times the interval (the
 * rates add up exactly), and an even split of the burst (at least 1, so no worker refuses everything).
 */
export function bucketShare(bucket: TokenBucket, index: number, count: number): TokenBucket {
  const burst = Math.floor(bucket.maxTokens / count) + (index < bucket.maxTokens % count ? 1 : 0);
  return {
    maxTokens: Math.max(1, burst),
    tokensPerFill: bucket.tokensPerFill,
    fillIntervalMs: bucket.fillIntervalMs * count,
  };
}

/** The snapshot a worker applies: every listener and route rate limit replaced by the worker's share. */
export function shareRateLimits(snapshot: Snapshot, index: number, count: number): Snapshot {
  if (count <= 1) return snapshot;
  return {
    ...snapshot,
    listeners: snapshot.listeners.map((listener) => ({
      ...listener,
      ...(listener.rateLimit ? { rateLimit: bucketShare(listener.rateLimit, index, count) } : {}),
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
