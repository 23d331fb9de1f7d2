// The span clock: performance.now() readings turned into wall-clock time agree with Date.now().
import { describe, expect, it } from 'vitest';
import { epochMs, measureEpochAnchor } from './epoch-clock.ts';

describe('epochMs', () => {
  it('puts a performance.now() reading between the Date.now() readings around it', () => {
    for (let i = 0; i < 20; i++) {
      const before = Date.now();
      const at = epochMs(performance.now());
      const after = Date.now();
      // Date.now() truncates to the millisecond: the true time is in [before, after + 1).
      expect(at).toBeGreaterThanOrEqual(before - 0.05);
      expect(at).toBeLessThan(after + 1);
    }
  });

  it('measures the same anchor again to well under a millisecond', () => {
    const a = measureEpochAnchor();
    const b = measureEpochAnchor();
    expect(Math.abs(a - b)).toBeLessThan(0.5);
  });
});
