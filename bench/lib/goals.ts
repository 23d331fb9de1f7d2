// The targets a run is judged against (issue 10's for the data path and cold start, issues 5 and 13's for
// convergence): each one measured, met or not, and by how much it was missed, as the report's table.
import type { ColdStartResult } from './cold-start.ts';
import type { ConvergenceResult } from './convergence.ts';
import type { TargetSummary } from './report.ts';
import { median } from './stats.ts';

export interface Goal {
  name: string;
  goal: string;
  measured: string;
  met: boolean | undefined;
  /** How far from the goal a missed target is ("0.12× short", "0.03 vCPU over"); absent when met. */
  missedBy?: string;
}

/** Issue 10's baseline: the demo chain's saturated throughput on 2026-11-29 (req/s). */
export const CHAIN_BASELINE_RPS = 1693;

/** The name of issue 5's convergence target in the goals table. */
export const CONVERGENCE_GOAL = '1000 proxies ACK a change, p99';
/** Issue 13's targets for pushes that grow with the change. */
export const PUSH_SIZE_GOAL = 'a weight change to 1000 proxies streams';
export const PUSH_P99_GOAL = 'a weight change to 1000 proxies, p99';
export const ENDPOINT_GOAL = 'a new endpoint reaches only the proxies that call its service';
export const CONVERGENCE_GOALS = [CONVERGENCE_GOAL, PUSH_SIZE_GOAL, PUSH_P99_GOAL, ENDPOINT_GOAL];
/** The name of the cold-start target in the goals table. */
export const COLD_START_GOAL = 'cold start: p99 of the first 10 s at 300 req/s';

export const fmt = (value: number, digits = 2, suffix = ''): string =>
  Number.isFinite(value) ? `${value.toFixed(digits)}${suffix}` : '–';

interface Limit {
  name: string;
  /** `min`: the value must reach the limit; `max`: it must stay under it. */
  kind: 'min' | 'max';
  limit: number;
  unit: string;
  digits: number;
  /** The goal as written in the table, when more than "≥ limit unit". */
  goalText?: string;
}

/** Judges one value against its limit; a value that was not measured is neither met nor missed. */
function judge(spec: Limit, value: number | undefined, detail = '', alsoMet = true): Goal {
  const goal = spec.goalText ?? `${spec.kind === 'min' ? '≥' : '≤'} ${spec.limit}${spec.unit}`;
  if (value === undefined || !Number.isFinite(value))
    return { name: spec.name, goal, measured: 'not measured', met: undefined };
  const within = spec.kind === 'min' ? value >= spec.limit : value <= spec.limit;
  const met = within && alsoMet;
  const gap = Math.abs(value - spec.limit);
  const missedBy = within
    ? undefined
    : `${fmt(gap, spec.digits)}${spec.unit} ${spec.kind === 'min' ? 'short' : 'over'}`;
  return {
    name: spec.name,
    goal,
    measured: `${fmt(value, spec.digits)}${spec.unit}${detail}`,
    met,
    ...(missedBy ? { missedBy } : {}),
  };
}

/** Marks a latency difference unreliable when the direct path's own percentile shows a busy machine. */
function unreliableWhen(goal: Goal, direct: number, threshold: number, what: string): Goal {
  if (goal.met === undefined || !Number.isFinite(direct) || direct <= threshold) return goal;
  return {
    name: goal.name,
    goal: goal.goal,
    measured: `${goal.measured} (unreliable: direct ${what} itself was ${fmt(direct, 2)} ms)`,
    met: undefined,
  };
}

export function checkGoals(
  summaries: TargetSummary[],
  convergence: ConvergenceResult[],
  coldStart?: ColdStartResult,
): Goal[] {
  const hop = summaries.find((s) => s.key === 'strait');
  const chain = summaries.find((s) => s.key === 'chain-strait');
  const direct = summaries.find((s) => s.key === 'direct');
  const goals: Goal[] = [];
  goals.push(
    judge(
      { name: 'one hop throughput vs nginx', kind: 'min', limit: 0.8, unit: '×', digits: 2 },
      hop?.rpsVsNginx,
    ),
    judge(
      { name: 'sidecar CPU at 1000 req/s', kind: 'max', limit: 0.12, unit: ' vCPU', digits: 3 },
      hop?.vcpuPerProxy,
    ),
    judge(
      { name: 'sidecar peak RSS at 1000 req/s', kind: 'max', limit: 64, unit: ' MB', digits: 1 },
      hop?.peakRssMbPerProxy,
      ` (private ${fmt(hop?.peakAnonMbPerProxy ?? Number.NaN, 1)} MB)`,
    ),
    judge(
      { name: 'sidecar idle RSS', kind: 'max', limit: 55, unit: ' MB', digits: 1 },
      hop?.idleRssMbPerProxy,
    ),
    // A latency difference only means something when the direct path itself is quiet; on a busy machine
    // its percentiles are other processes' scheduling, and the difference can even come out negative.
    unreliableWhen(
      judge(
        { name: 'added latency p50, one hop', kind: 'max', limit: 0.25, unit: ' ms', digits: 3 },
        hop?.addedP50,
      ),
      direct?.p50 ?? Number.NaN,
      2,
      'p50',
    ),
    judge(
      {
        name: 'demo chain holds 1000 req/s with no queue (p50)',
        kind: 'max',
        limit: 3,
        unit: ' ms',
        digits: 2,
      },
      chain?.p50,
      chain ? `, ${fmt(100 * chain.completedShare, 0)}% of the requests completed` : '',
      (chain?.completedShare ?? 0) >= 0.99,
    ),
    judge(
      {
        name: 'demo chain saturated throughput',
        kind: 'min',
        limit: 2 * CHAIN_BASELINE_RPS,
        unit: ' req/s',
        digits: 0,
        goalText: `≥ ${2 * CHAIN_BASELINE_RPS} req/s (2 × ${CHAIN_BASELINE_RPS})`,
      },
      chain?.rps,
    ),
  );
  goals.push(tracingGoal(summaries));
  goals.push(mtlsGoal(summaries));
  if (coldStart) goals.push(coldStartGoal(coldStart));
  goals.push(...convergenceGoals(convergence));
  return goals;
}

/** Issue 16's target: tracing at 1 % costs at most 3 % more CPU per request than the same hop without it. */
export function tracingGoal(summaries: TargetSummary[]): Goal {
  const cpu = (key: string) => summaries.find((s) => s.key === key)?.cpuPer1000 ?? Number.NaN;
  const off = cpu('strait');
  const extra = (key: string) => 100 * (cpu(key) / off - 1);
  const all = extra('strait-tracing-100');
  return judge(
    { name: 'tracing at 1 %: extra CPU per request vs off', kind: 'max', limit: 3, unit: ' %', digits: 1 },
    extra('strait-tracing-1'),
    Number.isFinite(all) ? ` (at 100 %: ${fmt(all, 1)} %)` : '',
  );
}

/** The name of issue 11's target in the goals table. */
export const MTLS_GOAL = 'mTLS one hop, keep-alive: CPU per request vs plain';

/** Issue 11's target: with keep-alive, a mesh hop over mTLS costs at most 1.3× the plain hop's CPU per request. */
export function mtlsGoal(summaries: TargetSummary[]): Goal {
  const cpu = (key: string) => summaries.find((s) => s.key === key)?.cpuPer1000 ?? Number.NaN;
  const chain = cpu('chain-strait-mtls') / cpu('chain-strait');
  return judge(
    { name: MTLS_GOAL, kind: 'max', limit: 1.3, unit: '×', digits: 2 },
    cpu('hop-mtls') / cpu('hop-plain'),
    Number.isFinite(chain) ? ` (demo chain: ${fmt(chain, 2)}×)` : '',
  );
}

/** Issue 5's and issue 13's targets, from the run with 1000 simulated proxies. */
function convergenceGoals(convergence: ConvergenceResult[]): Goal[] {
  const thousand = convergence.find(
    (c) => c.proxies === 1000 && (c.replicas ?? 1) === 1 && c.status === 'measured',
  );
  const e = thousand?.endpoint;
  const endpointGoal = 'only the callers, endpoints only';
  return [
    judge({ name: CONVERGENCE_GOAL, kind: 'max', limit: 1000, unit: ' ms', digits: 0 }, thousand?.p99Ms),
    judge({ name: PUSH_SIZE_GOAL, kind: 'max', limit: 10, unit: ' MiB', digits: 2 }, thousand?.mibPerChange),
    judge({ name: PUSH_P99_GOAL, kind: 'max', limit: 250, unit: ' ms', digits: 0 }, thousand?.p99Ms),
    e
      ? {
          name: ENDPOINT_GOAL,
          goal: endpointGoal,
          measured: `${e.reached} reached, ${e.reachedCallers} of ${e.callers} callers, ${e.endpointsOnly ? 'endpoints only' : 'more than endpoints'}`,
          met: e.reached === e.callers && e.reachedCallers === e.callers && e.endpointsOnly,
        }
      : { name: ENDPOINT_GOAL, goal: endpointGoal, measured: 'not measured', met: undefined },
  ];
}

/** The cold-start target: the median over rounds of each fresh mesh's first-window p99. */
export function coldStartGoal(result: ColdStartResult): Goal {
  const p99s = result.rounds.map((r) => r.cold.latencyMs.p99);
  const failed = result.rounds.reduce((sum, r) => sum + r.cold.errors + r.cold.non2xx, 0);
  const detail = p99s.length > 1 ? ` (median of ${p99s.map((v) => fmt(v, 1)).join(', ')} ms)` : '';
  return judge(
    {
      name: COLD_START_GOAL,
      kind: 'max',
      limit: 50,
      unit: ' ms',
      digits: 1,
    },
    median(p99s),
    `${detail}${failed > 0 ? `, ${failed} failed` : ''}`,
    failed === 0,
  );
}

/** The goals as a Markdown table. */
export function goalsTable(goals: Goal[]): string[] {
  const lines = ['| what | goal | measured | met | missed by |', '|---|---|---|---|---|'];
  for (const g of goals) {
    const met = g.met === undefined ? '–' : g.met ? 'yes' : 'no';
    lines.push(`| ${g.name} | ${g.goal} | ${g.measured} | ${met} | ${g.missedBy ?? ''} |`);
  }
  return lines;
}
