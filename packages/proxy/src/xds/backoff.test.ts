// The discovery client's reconnect delays: jittered exponential backoff (the stream's line splitter is
// @strait/api's, tested there).
import { describe, expect, it } from 'vitest';
import { nextBackoffMs } from './backoff.ts';

describe('nextBackoffMs', () => {
  it('grows exponentially to the cap with full jitter', () => {
    const policy = { initialMs: 200, maxMs: 10_000 };
    expect(nextBackoffMs(0, policy, () => 1)).toBe(200);
    expect(nextBackoffMs(3, policy, () => 1)).toBe(1600);
    expect(nextBackoffMs(10, policy, () => 1)).toBe(10_000);
    expect(nextBackoffMs(1000, policy, () => 1)).toBe(10_000);
    expect(nextBackoffMs(5, policy, () => 0)).toBe(0);
    expect(nextBackoffMs(2, policy, () => 0.5)).toBe(400);
  });
});
