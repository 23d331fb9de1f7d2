// Active health state machine: thresholds in both directions.
import { describe, expect, it } from 'vitest';
import { HealthState } from './state.ts';

const t = { healthyThreshold: 2, unhealthyThreshold: 3 };

describe('HealthState', () => {
  it('starts unchecked, which counts as healthy', () => {
    const s = new HealthState();
    expect(s.status).toBe('unchecked');
    expect(s.healthy).toBe(true);
    expect(s.record('success', t)).toBe(false);
    expect(s.status).toBe('healthy');
  });

  it('turns unhealthy only after unhealthyThreshold consecutive failures', () => {
    const s = new HealthState();
    expect(s.record('failure', t)).toBe(false);
    expect(s.record('timeout', t)).toBe(false);
    expect(s.healthy).toBe(true);
    expect(s.record('failure', t)).toBe(true);
    expect(s.status).toBe('unhealthy');
  });

  it('a success in between resets the failure count', () => {
    const s = new HealthState();
    s.record('failure', t);
    s.record('failure', t);
    s.record('success', t);
    s.record('failure', t);
    s.record('failure', t);
    expect(s.healthy).toBe(true);
  });

  it('comes back after healthyThreshold consecutive successes', () => {
    const s = new HealthState();
    for (let i = 0; i < 3; i++) s.record('failure', t);
    expect(s.record('success', t)).toBe(false);
    expect(s.record('failure', t)).toBe(false); // resets the success streak
    expect(s.record('success', t)).toBe(false);
    expect(s.healthy).toBe(false);
    expect(s.record('success', t)).toBe(true);
    expect(s.status).toBe('healthy');
  });

  it('threshold 1 flips on every result', () => {
    const s = new HealthState();
    const one = { healthyThreshold: 1, unhealthyThreshold: 1 };
    expect(s.record('failure', one)).toBe(true);
    expect(s.record('success', one)).toBe(true);
  });

  it('reset goes back to unchecked', () => {
    const s = new HealthState();
    for (let i = 0; i < 3; i++) s.record('failure', t);
    s.reset();
    expect(s.status).toBe('unchecked');
    expect(s.healthy).toBe(true);
  });
});
