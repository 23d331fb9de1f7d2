// One measurement of one target: start its proxies fresh, hold 1000 req/s with the open-loop generator
// (latency, CPU, peak RSS of each proxy process), then saturate it with wrk, then stop the proxies.
import { readFileSync } from 'node:fs';
import type { LoadResult } from '../loadgen.ts';
import { runOpenLoop } from './open-loop.ts';
import { type Started, stopAll } from './processes.ts';
import { type CpuTimes, cpuTimes, memoryStatus, processTree, RssSampler } from './procfs.ts';
import { MTLS_TARGETS, type Target, type TargetContext, type TargetKey, TRACING_TARGETS } from './targets.ts';
import { runWrk, type WrkResult } from './wrk.ts';

export interface Settings {
  rounds: number;
  wrkDurationS: number;
  wrkWarmupS: number;
  wrkConnections: number;
  rate: number;
  rateDurationS: number;
  rateWarmupS: number;
  loadConnections: number;
}

/** Cost of one proxy (a process and its children) over the 1000 req/s window. */
export interface ProxyCost {
  name: string;
  pids: number[];
  cpuSeconds: number;
  /** The kernel's share of cpuSeconds (socket syscalls; on loopback the sender also runs the receiver's TCP path). */
  systemSeconds: number;
  /** CPU seconds per wall second in the window. */
  vcpu: number;
  /** RSS right after it became ready, MB. */
  idleRssMb: number;
  /** Highest RSS from start to the end of the 1000 req/s window (VmHWM, or sampled VmRSS if higher), MB. */
  peakRssMb: number;
  /** Highest anonymous (private) RSS sampled over the same span, MB: what each further proxy adds. */
  peakAnonMb: number;
}

export interface TargetRound {
  round: number;
  key: TargetKey;
  load: LoadResult;
  wrk: WrkResult;
  proxies: ProxyCost[];
  /** Summed over the target's proxies. */
  cpuSecondsPer1000: number;
  /** Lines in the proxies' access-log files after the run (shows the log was on). */
  accessLogLines: number | undefined;
}

const MB = 1024;

function countLines(path: string | undefined): number {
  if (!path) return 0;
  try {
    const text = readFileSync(path, 'utf8');
    let lines = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines += 1;
    return lines;
  } catch {
    return 0;
  }
}

export async function measureTarget(
  target: Target,
  round: number,
  ctx: TargetContext,
  settings: Settings,
  benchDir: string,
  wrkPath: string,
): Promise<TargetRound> {
  const started: Started[] = await target.start(ctx);
  try {
    const trees = started.map((proc) => ({ proc, pids: processTree(proc.pid) }));
    const idle = trees.map(({ pids }) => pids.reduce((sum, pid) => sum + memoryStatus(pid).rssKb, 0));
    const samplers = trees.map(({ pids }) => new RssSampler(pids));
    const none: CpuTimes = { user: 0, system: 0 };
    let cpuAtStart: CpuTimes[] = trees.map(() => none);
    let cpuAtEnd: CpuTimes[] = trees.map(() => none);
    let windowStartedAt = 0;
    let windowEndedAt = 0;
    const readCpu = (): CpuTimes[] =>
      trees.map(({ pids }) =>
        pids.reduce(
          (sum, pid) => {
            const t = cpuTimes(pid);
            return { user: sum.user + t.user, system: sum.system + t.system };
          },
          { user: 0, system: 0 },
        ),
      );
    const load = await runOpenLoop({
      benchDir,
      url: target.url,
      rate: settings.rate,
      durationS: settings.rateDurationS,
      warmupS: settings.rateWarmupS,
      connections: settings.loadConnections,
      onWindowStart: () => {
        windowStartedAt = performance.now();
        cpuAtStart = readCpu();
      },
      onWindowEnd: () => {
        windowEndedAt = performance.now();
        cpuAtEnd = readCpu();
      },
    });
    const windowS = Math.max(0.001, (windowEndedAt - windowStartedAt) / 1000);
    const proxies: ProxyCost[] = trees.map(({ proc, pids }, i) => {
      const sampler = samplers[i] as RssSampler;
      const sampledPeakKb = sampler.stop();
      const hwmKb = pids.reduce((sum, pid) => sum + memoryStatus(pid).peakRssKb, 0);
      const end = cpuAtEnd[i] as CpuTimes;
      const begin = cpuAtStart[i] as CpuTimes;
      const systemSeconds = end.system - begin.system;
      const cpu = end.user - begin.user + systemSeconds;
      return {
        name: proc.name,
        pids,
        cpuSeconds: cpu,
        systemSeconds,
        vcpu: cpu / windowS,
        idleRssMb: (idle[i] as number) / MB,
        peakRssMb: Math.max(hwmKb, sampledPeakKb) / MB,
        peakAnonMb: sampler.peakAnonKb / MB,
      };
    });
    const totalCpu = proxies.reduce((sum, p) => sum + p.cpuSeconds, 0);
    const cpuSecondsPer1000 =
      started.length > 0 && load.completed > 0 ? totalCpu / (load.completed / 1000) : Number.NaN;

    if (settings.wrkWarmupS > 0) {
      await runWrk({
        wrk: wrkPath,
        url: target.url,
        threads: 1,
        connections: settings.wrkConnections,
        durationS: settings.wrkWarmupS,
      });
    }
    const wrk = await runWrk({
      wrk: wrkPath,
      url: target.url,
      threads: 1,
      connections: settings.wrkConnections,
      durationS: settings.wrkDurationS,
    });
    const isStrait =
      target.key === 'strait' ||
      TRACING_TARGETS.includes(target.key) ||
      MTLS_TARGETS.includes(target.key) ||
      target.key === 'chain-strait';
    const accessLogLines = isStrait
      ? started.reduce((sum, proc) => sum + countLines(proc.stdoutPath), 0)
      : undefined;
    return { round, key: target.key, load, wrk, proxies, cpuSecondsPer1000, accessLogLines };
  } finally {
    await stopAll(started);
  }
}
