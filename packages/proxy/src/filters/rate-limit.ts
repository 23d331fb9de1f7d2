// Local rate limiting: a token bucket refilled lazily from the clock (no timers), one per route or listener,
// and the filter that answers 429 RL when the listener's or the route's bucket is empty.
import { Errors, ResponseFlags, type TokenBucket } from '@strait/api';
import type { Stream } from '../listener/stream.ts';
import { replyFor } from '../router/local-reply.ts';
import type { FilterResult, HttpFilter } from './types.ts';

/**
 * A token bucket that starts full. Tokens come back in whole fill intervals: after `n` complete
 * intervals since the last refill, `n * tokensPerFill` tokens are added (capped at `maxTokens`).
 * Time is read only when a token is asked for, so an idle limiter costs nothing.
 */
export class TokenBucketLimiter {
  readonly bucket: Readonly<TokenBucket>;
  readonly #now: () => number;
  #tokens: number;
  #lastFill: number;

  constructor(bucket: TokenBucket, now: () => number = () => performance.now()) {
    this.bucket = {
      maxTokens: bucket.maxTokens,
      tokensPerFill: bucket.tokensPerFill,
      fillIntervalMs: bucket.fillIntervalMs,
    };
    this.#now = now;
    this.#tokens = bucket.maxTokens;
    this.#lastFill = now();
  }

  /** Takes one token if there is one; false means the request should be answered 429 (RL). */
  tryTake(): boolean {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }

  /** Tokens available right now (after refilling), for admin output and tests. */
  available(): number {
    this.#refill();
    return this.#tokens;
  }

  /** True if this limiter was built from the same bucket settings (so it can be kept across config updates). */
  sameBucket(bucket: TokenBucket): boolean {
    return (
      this.bucket.maxTokens === bucket.maxTokens &&
      this.bucket.tokensPerFill === bucket.tokensPerFill &&
      this.bucket.fillIntervalMs === bucket.fillIntervalMs
    );
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = now - this.#lastFill;
    if (elapsed < 0) {
      // The clock went backwards (a fake clock, or a wall clock): restart the interval from here.
      this.#lastFill = now;
      return;
    }
    const interval = this.bucket.fillIntervalMs;
    if (elapsed < interval) return;
    const fills = Math.floor(elapsed / interval);
    this.#lastFill += fills * interval;
    const { maxTokens, tokensPerFill } = this.bucket;
    const refilled = this.#tokens + fills * tokensPerFill;
    this.#tokens = Math.min(refilled, maxTokens);
  }
}

const LIMITED = replyFor(Errors.RATE_LIMITED, ResponseFlags.RATE_LIMITED, 'local_rate_limited\n');

/** The local rate limit filter: the listener's bucket first, then the route's. */
export const rateLimitFilter: HttpFilter = {
  name: 'local_ratelimit',
  onRequest(stream: Stream): FilterResult {
    const listener = stream.config.listener.name;
    if (stream.config.limiter && !stream.config.limiter.tryTake()) {
      stream.ctx.observer.rateLimited(listener, '-');
      return LIMITED;
    }
    const route = stream.route;
    if (route?.rateLimiter && !route.rateLimiter.tryTake()) {
      stream.ctx.observer.rateLimited(listener, route.name);
      return LIMITED;
    }
    return undefined;
  },
};
