// Outlier detection: thresholds, growing ejection time, max ejection percent, return after time.
import type { OutlierDetection } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { OutlierDetector, OutlierState } from './outlier.ts';

const base: OutlierDetection = {
  consecutive5xx: 3,
  consecutiveGatewayErrors: 2,
  intervalMs: 1000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 100,
};

function hosts(n: number) {
  return Array.from({ length: n }, () => ({ outlier: new OutlierState() }));
}

describe('OutlierDetector', () => {
  it('ejects after consecutive 5xx; a success resets the count', () => {
    const d = new OutlierDetector({ ...base, consecutiveGatewayErrors: 0 });
    const all = hosts(4);
    const h = all[0] as (typeof all)[0];
    expect(d.record(h, { status: 500 }, all, 0)).toBe(false);
    expect(d.record(h, { status: 500 }, all, 0)).toBe(false);
    expect(d.record(h, { status: 200 }, all, 0)).toBe(false);
    expect(d.record(h, { status: 500 }, all, 0)).toBe(false);
    expect(d.record(h, { status: 503 }, all, 0)).toBe(false);
    expect(d.record(h, { status: 500 }, all, 0)).toBe(true);
    expect(h.outlier.isEjected(1)).toBe(true);
    expect(h.outlier.ejectedUntil).toBe(30_000);
  });

  it('4xx counts as success', () => {
    const d = new OutlierDetector({ ...base, consecutive5xx: 2 });
    const all = hosts(2);
    const h = all[0] as (typeof all)[0];
    d.record(h, { status: 500 }, all, 0);
    d.record(h, { status: 404 }, all, 0);
    expect(d.record(h, { status: 500 }, all, 0)).toBe(false);
  });

  it('ejects on consecutive gateway errors (502/503/504 and connection errors) first', () => {
    const d = new OutlierDetector(base);
    const all = hosts(3);
    const h = all[0] as (typeof all)[0];
    expect(d.record(h, { error: 'connect-failure' }, all, 0)).toBe(false);
    expect(d.record(h, { status: 504 }, all, 0)).toBe(true);
    // A plain 500 breaks a gateway-error streak but still counts as 5xx.
    const g = all[1] as (typeof all)[0];
    d.record(g, { status: 502 }, all, 0);
    d.record(g, { status: 500 }, all, 0);
    expect(g.outlier.consecutiveGatewayErrors).toBe(0);
    expect(g.outlier.consecutive5xx).toBe(2);
    expect(d.record(g, { error: 'reset' }, all, 0)).toBe(true); // third 5xx
  });

  it('ignores results while ejected and returns after the ejection time', () => {
    const d = new OutlierDetector(base);
    const all = hosts(2);
    const h = all[0] as (typeof all)[0];
    d.record(h, { status: 503 }, all, 0);
    d.record(h, { status: 503 }, all, 0);
    expect(h.outlier.isEjected(29_999)).toBe(true);
    expect(d.record(h, { status: 503 }, all, 10)).toBe(false);
    // Lazily back as soon as the time is up, and the sweep records the return.
    expect(h.outlier.isEjected(30_000)).toBe(false);
    expect(d.sweep(all, 29_000)).toEqual([]);
    expect(d.sweep(all, 30_500)).toEqual([h]);
    expect(h.outlier.ejectedUntil).toBe(0);
  });

  it('grows the ejection time with the number of ejections, and decays it while healthy', () => {
    const d = new OutlierDetector(base);
    const all = hosts(2);
    const h = all[0] as (typeof all)[0];
    const fail = (now: number) => {
      d.record(h, { status: 502 }, all, now);
      return d.record(h, { status: 502 }, all, now);
    };
    expect(fail(0)).toBe(true);
    expect(h.outlier.ejectedUntil).toBe(30_000);
    d.sweep(all, 30_000);
    expect(fail(30_100)).toBe(true);
    expect(h.outlier.ejectedUntil).toBe(30_100 + 60_000);
    d.sweep(all, 90_100);
    expect(fail(90_200)).toBe(true);
    expect(h.outlier.ejectedUntil).toBe(90_200 + 90_000);
    // Back, then well behaved for intervals: the multiplier decays one step per clean interval.
    d.sweep(all, 180_200);
    expect(h.outlier.ejections).toBe(3);
    d.sweep(all, 181_200);
    d.sweep(all, 182_200);
    expect(h.outlier.ejections).toBe(1);
    expect(fail(182_300)).toBe(true);
    expect(h.outlier.ejectedUntil).toBe(182_300 + 60_000);
  });

  it('never ejects beyond maxEjectionPercent (ejection allowed only while ejected% < max)', () => {
    const d = new OutlierDetector({ ...base, maxEjectionPercent: 50 });
    const all = hosts(4);
    const eject = (i: number) => {
      const h = all[i] as (typeof all)[0];
      d.record(h, { status: 503 }, all, 0);
      return d.record(h, { status: 503 }, all, 0);
    };
    expect(eject(0)).toBe(true); // 0 % ejected before
    expect(eject(1)).toBe(true); // 25 % before
    expect(eject(2)).toBe(false); // 50 % before: refused
    expect(all.filter((h) => h.outlier.isEjected(1)).length).toBe(2);
    // Once one returns, the next failure of the refused host ejects it.
    d.sweep(all, 30_000);
    expect(d.record(all[2] as (typeof all)[0], { status: 503 }, all, 30_000)).toBe(true);
  });

  it('maxEjectionPercent 0 never ejects; a low percent still allows the first ejection', () => {
    const none = new OutlierDetector({ ...base, maxEjectionPercent: 0 });
    const all = hosts(3);
    const h = all[0] as (typeof all)[0];
    none.record(h, { status: 503 }, all, 0);
    expect(none.record(h, { status: 503 }, all, 0)).toBe(false);
    const low = new OutlierDetector({ ...base, maxEjectionPercent: 10 });
    expect(low.record(h, { status: 503 }, all, 0)).toBe(true);
  });

  it('consecutive5xx defaults to 5 when absent', () => {
    const d = new OutlierDetector({ intervalMs: 1000, baseEjectionTimeMs: 1000, maxEjectionPercent: 100 });
    const all = hosts(2);
    const h = all[0] as (typeof all)[0];
    for (let i = 0; i < 4; i++) expect(d.record(h, { status: 500 }, all, 0)).toBe(false);
    expect(d.record(h, { status: 500 }, all, 0)).toBe(true);
  });
});
