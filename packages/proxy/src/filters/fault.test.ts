// Tests for fault and mirror decisions: percentages, independence of delay and abort.
import { describe, expect, it } from 'vitest';
import { decideFault, decideMirror } from './fault.ts';

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

/** Returns the given numbers in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i++];
    if (v === undefined) throw new Error('random called too often');
    return v;
  };
}

describe('decideFault', () => {
  it('does nothing without a fault', () => {
    expect(decideFault(undefined)).toEqual({ delayMs: 0, abortStatus: undefined });
  });

  it('always or never at 100% and 0%, without drawing', () => {
    const none = sequence();
    const fault = {
      delay: { fixedDelayMs: 250, percentage: 100 },
      abort: { httpStatus: 503, percentage: 0 },
    };
    expect(decideFault(fault, none)).toEqual({ delayMs: 250, abortStatus: undefined });
    const abortOnly = { abort: { httpStatus: 418, percentage: 100 } };
    expect(decideFault(abortOnly, none)).toEqual({ delayMs: 0, abortStatus: 418 });
  });

  it('draws delay first, then abort, independently', () => {
    const fault = {
      delay: { fixedDelayMs: 100, percentage: 50 },
      abort: { httpStatus: 500, percentage: 50 },
    };
    expect(decideFault(fault, sequence(0.1, 0.9))).toEqual({ delayMs: 100, abortStatus: undefined });
    expect(decideFault(fault, sequence(0.9, 0.1))).toEqual({ delayMs: 0, abortStatus: 500 });
    expect(decideFault(fault, sequence(0.1, 0.1))).toEqual({ delayMs: 100, abortStatus: 500 });
    expect(decideFault(fault, sequence(0.5, 0.5))).toEqual({ delayMs: 0, abortStatus: undefined });
  });

  it('hits each percentage over many draws', () => {
    const fault = { delay: { fixedDelayMs: 5, percentage: 30 }, abort: { httpStatus: 503, percentage: 10 } };
    const random = seededRandom(99);
    const draws = 100_000;
    let delayed = 0;
    let aborted = 0;
    let both = 0;
    for (let i = 0; i < draws; i++) {
      const d = decideFault(fault, random);
      if (d.delayMs > 0) delayed++;
      if (d.abortStatus !== undefined) aborted++;
      if (d.delayMs > 0 && d.abortStatus !== undefined) both++;
    }
    expect(Math.abs((100 * delayed) / draws - 30)).toBeLessThan(1.5);
    expect(Math.abs((100 * aborted) / draws - 10)).toBeLessThan(1.5);
    // Independent draws: both happen about 30% x 10% = 3% of the time.
    expect(Math.abs((100 * both) / draws - 3)).toBeLessThan(1);
  });

  it('supports fractional percentages', () => {
    const fault = { abort: { httpStatus: 503, percentage: 0.5 } };
    expect(decideFault(fault, sequence(0.004)).abortStatus).toBe(503);
    expect(decideFault(fault, sequence(0.006)).abortStatus).toBeUndefined();
  });
});

describe('decideMirror', () => {
  it('follows the percentage', () => {
    expect(decideMirror(undefined)).toBe(false);
    expect(decideMirror({ cluster: 'm', percentage: 100 }, sequence())).toBe(true);
    expect(decideMirror({ cluster: 'm', percentage: 0 }, sequence())).toBe(false);
    expect(decideMirror({ cluster: 'm', percentage: 25 }, sequence(0.2))).toBe(true);
    expect(decideMirror({ cluster: 'm', percentage: 25 }, sequence(0.3))).toBe(false);
  });
});
