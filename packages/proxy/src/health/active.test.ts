// Active health checker: scheduling with a fake clock and a scripted prober, plus the status ranges.
import type { HealthCheck } from '@strait/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActiveHealthChecker, type HealthCheckTarget, isExpectedStatus, type Prober } from './active.ts';
import { HealthState, type ProbeResult } from './state.ts';

const config: HealthCheck = {
  path: '/healthz',
  intervalMs: 1000,
  timeoutMs: 200,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

function target(key: string): HealthCheckTarget {
  return { key, origin: `http://${key}`, activeHealth: new HealthState() };
}

/** A prober whose answers the test sets per host; counts probes. */
class ScriptedProber implements Prober {
  answers = new Map<string, ProbeResult>();
  probes = new Map<string, number>();
  forgotten: string[] = [];
  closed = false;
  async probe(t: HealthCheckTarget): Promise<ProbeResult> {
    this.probes.set(t.key, (this.probes.get(t.key) ?? 0) + 1);
    return this.answers.get(t.key) ?? 'success';
  }
  forget(key: string): void {
    this.forgotten.push(key);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('ActiveHealthChecker (fake clock)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('probes every interval and flips state at the thresholds, emitting transitions', async () => {
    const prober = new ScriptedProber();
    const events: Array<[string, ProbeResult, boolean]> = [];
    const a = target('127.0.101.1:80');
    const checker = new ActiveHealthChecker({
      config,
      authority: 'svc',
      prober,
      random: () => 0,
      onResult: (t, result, changed) => events.push([t.key, result, changed]),
    });
    checker.start([a]);
    await vi.advanceTimersByTimeAsync(0); // first probe at once (jitter 0)
    expect(prober.probes.get(a.key)).toBe(1);
    expect(a.activeHealth.status).toBe('healthy');

    prober.answers.set(a.key, 'failure');
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.activeHealth.healthy).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.activeHealth.healthy).toBe(false);

    prober.answers.set(a.key, 'success');
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.activeHealth.healthy).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.activeHealth.healthy).toBe(true);

    expect(events.map((e) => e[2])).toEqual([false, false, true, false, true]);
    expect(events.filter((e) => e[2]).map((e) => e[1])).toEqual(['failure', 'success']);
    await checker.stop();
    expect(prober.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(prober.probes.get(a.key)).toBe(5);
  });

  it('adds jitter to the interval', async () => {
    const prober = new ScriptedProber();
    const a = target('127.0.101.2:80');
    const checker = new ActiveHealthChecker({
      config: { ...config, jitterMs: 500 },
      authority: undefined,
      prober,
      random: () => 0.5, // 250 ms of jitter each time
      onResult: () => {},
    });
    checker.start([a]);
    await vi.advanceTimersByTimeAsync(249);
    expect(prober.probes.get(a.key)).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(prober.probes.get(a.key)).toBe(1);
    await vi.advanceTimersByTimeAsync(1249);
    expect(prober.probes.get(a.key)).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(prober.probes.get(a.key)).toBe(2);
    await checker.stop();
  });

  it('setTargets starts new hosts and forgets removed ones', async () => {
    const prober = new ScriptedProber();
    const a = target('127.0.101.3:80');
    const b = target('127.0.101.4:80');
    const checker = new ActiveHealthChecker({ config, authority: 'svc', prober, onResult: () => {} });
    checker.start([a]);
    await vi.advanceTimersByTimeAsync(0);
    checker.setTargets([b]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(prober.probes.get(a.key)).toBe(1);
    expect(prober.probes.get(b.key)).toBe(4);
    expect(prober.forgotten).toEqual([a.key]);
    await checker.stop();
  });
});

describe('isExpectedStatus', () => {
  it('defaults to 200-299 and honours inclusive ranges', () => {
    expect(isExpectedStatus(200, {})).toBe(true);
    expect(isExpectedStatus(299, {})).toBe(true);
    expect(isExpectedStatus(300, {})).toBe(false);
    const ranges = {
      expectedStatuses: [
        { start: 200, end: 200 },
        { start: 404, end: 404 },
      ],
    };
    expect(isExpectedStatus(404, ranges)).toBe(true);
    expect(isExpectedStatus(204, ranges)).toBe(false);
  });
});
