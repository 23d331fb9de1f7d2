// The benchmark's mTLS target (issue 11): the mTLS mesh hop's CPU per request judged against the plain hop's
// from the same run (≤ 1.3×), the chain's ratio alongside, and "not measured" when a row is missing.
import { describe, expect, it } from 'vitest';
import { MTLS_GOAL, mtlsGoal } from '../bench/lib/goals.ts';
import type { TargetSummary } from '../bench/lib/report.ts';

const row = (key: string, cpuPer1000: number) => ({ key, cpuPer1000 }) as unknown as TargetSummary;

describe('mtlsGoal', () => {
  it('is met at or under 1.3x the plain hop, and names the chain ratio', () => {
    const goal = mtlsGoal([
      row('hop-plain', 0.5),
      row('hop-mtls', 0.6),
      row('chain-strait', 1),
      row('chain-strait-mtls', 1.1),
    ]);
    expect(goal).toMatchObject({ name: MTLS_GOAL, met: true, measured: '1.20× (demo chain: 1.10×)' });
  });

  it('is missed above 1.3x, by how much', () => {
    const goal = mtlsGoal([row('hop-plain', 0.5), row('hop-mtls', 0.75)]);
    expect(goal).toMatchObject({ met: false, measured: '1.50×', missedBy: '0.20× over' });
  });

  it('is not measured without both hop rows', () => {
    expect(mtlsGoal([row('hop-mtls', 0.6)])).toMatchObject({ met: undefined, measured: 'not measured' });
  });
});
