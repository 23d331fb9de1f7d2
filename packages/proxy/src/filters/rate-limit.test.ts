// Tests for the token bucket, driven by a fake clock.
import { describe, expect, it } from 'vitest';
import { TokenBucketLimiter } from './rate-limit.ts';

function clock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms), set: (ms: number) => (t = ms) };
}

function takeAll(limiter: TokenBucketLimiter, max = 1000): number {
  let n = 0;
  while (n < max && limiter.tryTake()) n++;
  return n;
}

describe('TokenBucketLimiter', () => {
  it('starts full and then refuses', () => {
    const c = clock();
    const limiter = new TokenBucketLimiter({ maxTokens: 3, tokensPerFill: 1, fillIntervalMs: 100 }, c.now);
    expect(takeAll(limiter)).toBe(3);
    expect(limiter.tryTake()).toBe(false);
  });

  it('refills only in whole intervals', () => {
    const c = clock();
    const limiter = new TokenBucketLimiter({ maxTokens: 10, tokensPerFill: 2, fillIntervalMs: 100 }, c.now);
    takeAll(limiter);
    c.advance(99);
    expect(limiter.tryTake()).toBe(false);
    c.advance(1);
    expect(takeAll(limiter)).toBe(2);
    c.advance(250); // two whole intervals; the half interval is not lost
    expect(takeAll(limiter)).toBe(4);
    c.advance(50);
    expect(takeAll(limiter)).toBe(2);
  });

  it('never holds more than maxTokens', () => {
    const c = clock();
    const limiter = new TokenBucketLimiter({ maxTokens: 5, tokensPerFill: 5, fillIntervalMs: 1000 }, c.now);
    takeAll(limiter);
    c.advance(60_000);
    expect(limiter.available()).toBe(5);
    expect(takeAll(limiter)).toBe(5);
  });

  it('survives a clock that goes backwards', () => {
    const c = clock(5000);
    const limiter = new TokenBucketLimiter({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 100 }, c.now);
    expect(limiter.tryTake()).toBe(true);
    c.set(0);
    expect(limiter.tryTake()).toBe(false);
    c.set(100);
    expect(limiter.tryTake()).toBe(true);
  });

  it('uses the real clock by default', () => {
    const limiter = new TokenBucketLimiter({ maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 60_000 });
    expect(takeAll(limiter)).toBe(2);
    expect(limiter.tryTake()).toBe(false);
  });

  it('knows whether it was built from the same settings', () => {
    const limiter = new TokenBucketLimiter({ maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 10 });
    expect(limiter.sameBucket({ maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 10 })).toBe(true);
    expect(limiter.sameBucket({ maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 20 })).toBe(false);
  });
});
