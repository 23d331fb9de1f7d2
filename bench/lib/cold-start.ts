// Cold start: a fresh demo mesh started by the same launcher as `npm start` (on the bench's own addresses),
// then at once a fixed rate through the ingress with the open-loop generator. What the first seconds cost
// is what a user sees after "the mesh is up": per-second p50/p99 and the p99 of the whole first window.
import { join } from 'node:path';
import { type Mesh, startMesh } from '../../packages/demo/src/launcher/mesh.ts';
import { liveProcesses } from '../../packages/demo/src/launcher/processes.ts';
import { offsetPlan } from '../../packages/demo/src/topology.ts';
import type { LoadResult } from '../loadgen.ts';
import { fmt } from './goals.ts';
import { runOpenLoop } from './open-loop.ts';
import { onCleanup } from './processes.ts';
import { cpuSeconds } from './procfs.ts';

/**
 * The launcher's address plan for the bench: 127.0.122.x (control plane and ingress) … 127.0.126.x
 * (egress and the external API), next to the data-plane (120) and convergence (121) blocks.
 */
export const COLD_START_PLAN = offsetPlan(122);

export interface ColdStartSettings {
  rounds: number;
  /** Requests per second through the ingress, from the moment the launcher says the mesh is up. */
  rate: number;
  /** The cold window the target is about (10 s). */
  coldS: number;
  /** A further window at the same rate right after, for what "settled" looks like in the same run. */
  settledS: number;
  connections: number;
  /** The proxies' warm-up before readiness (--warmup-requests: STRAIT_WARMUP_REQUESTS or the default); older result files lack it. */
  proxyWarmupRequests?: number;
}

/** CPU seconds the mesh's processes used over one window, by kind of process, and the window's length. */
export interface MeshCpu {
  proxies: number;
  apps: number;
  controlPlane: number;
  seconds: number;
}

/** The kinds of process a mesh's CPU is split into. */
export type ProcessKind = Exclude<keyof MeshCpu, 'seconds'>;

export interface ColdStartRound {
  round: number;
  /** From launching the first process until the launcher's start-up returned (the chain answered 200). */
  startupS: number;
  cold: LoadResult;
  settled: LoadResult | undefined;
  /** Where the CPU went in each window: a cold window far above the settled one is warm-up (JIT, connections). */
  cpuCold: MeshCpu;
  cpuSettled: MeshCpu | undefined;
}

export interface ColdStartResult {
  settings: ColdStartSettings;
  rounds: ColdStartRound[];
  /** Set when a round could not be measured (the mesh did not start, the generator failed). */
  failure?: string;
}

/** Kills the launcher's processes on the bench's Ctrl-C or crash (the launcher tracks its own). */
let cleanupRegistered = false;
function killLauncherProcessesOnExit(): void {
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  onCleanup(() => {
    for (const p of liveProcesses) p.signal('SIGKILL');
  });
}

/** Which part of the mesh a launcher process is, by its name. */
function kindOf(name: string): ProcessKind {
  if (name === 'control-plane') return 'controlPlane';
  return name.endsWith('-sidecar') || name.endsWith('gateway') ? 'proxies' : 'apps';
}

/** CPU seconds used so far by each kind of process in the mesh. */
function meshCpu(mesh: Mesh): MeshCpu {
  const used: MeshCpu = { proxies: 0, apps: 0, controlPlane: 0, seconds: performance.now() / 1000 };
  for (const p of mesh.processes.values()) if (p.pid !== undefined) used[kindOf(p.name)] += cpuSeconds(p.pid);
  return used;
}

/** The CPU used between two readings. */
function cpuBetween(before: MeshCpu, after: MeshCpu): MeshCpu {
  return {
    proxies: after.proxies - before.proxies,
    apps: after.apps - before.apps,
    controlPlane: after.controlPlane - before.controlPlane,
    seconds: after.seconds - before.seconds,
  };
}

/** CPU milliseconds per request completed in a window. */
export function perRequestMs(cpuSeconds: number, load: LoadResult | undefined): number {
  return load && load.completed > 0 ? (1000 * cpuSeconds) / load.completed : Number.NaN;
}

async function measureRound(
  benchDir: string,
  workDir: string,
  settings: ColdStartSettings,
  round: number,
): Promise<ColdStartRound> {
  const dir = join(workDir, `cold-start-${round + 1}`);
  const began = performance.now();
  let mesh: Mesh | undefined;
  try {
    mesh = await startMesh({
      plan: COLD_START_PLAN,
      stateDir: dir,
      logDir: join(dir, 'logs'),
      // Prometheus is not on the request path; it would only add its own start-up to the machine's load.
      prometheus: false,
      // Start-up time is reported, not judged: a busy machine may take long, and that is no reason to fail.
      readyTimeoutMs: 120_000,
    });
    const startupS = (performance.now() - began) / 1000;
    const load = (durationS: number) =>
      runOpenLoop({
        benchDir,
        url: mesh?.ingressUrl as string,
        rate: settings.rate,
        durationS,
        warmupS: 0,
        connections: settings.connections,
      });
    const atUp = meshCpu(mesh);
    const cold = await load(settings.coldS);
    const afterCold = meshCpu(mesh);
    const cpuCold = cpuBetween(atUp, afterCold);
    if (settings.settledS <= 0)
      return { round, startupS, cold, settled: undefined, cpuCold, cpuSettled: undefined };
    const settled = await load(settings.settledS);
    return { round, startupS, cold, settled, cpuCold, cpuSettled: cpuBetween(afterCold, meshCpu(mesh)) };
  } finally {
    await mesh?.stop();
  }
}

/** Starts a fresh mesh per round and measures its first seconds; a failed round ends the part, named. */
export async function measureColdStart(
  benchDir: string,
  workDir: string,
  settings: ColdStartSettings,
  log: (line: string) => void,
): Promise<ColdStartResult> {
  killLauncherProcessesOnExit();
  const result: ColdStartResult = { settings, rounds: [] };
  for (let round = 0; round < settings.rounds; round++) {
    try {
      const measured = await measureRound(benchDir, workDir, settings, round);
      result.rounds.push(measured);
      const c = measured.cold;
      log(
        `bench: cold start ${round + 1}/${settings.rounds}: mesh up in ${measured.startupS.toFixed(1)} s; ` +
          `first ${settings.coldS} s at ${settings.rate} req/s p50 ${fmt(c.latencyMs.p50, 1)} p99 ` +
          `${fmt(c.latencyMs.p99, 1)} ms; per-second p99 ${(c.perSecondP99Ms ?? []).map((v) => fmt(v, 0)).join(' ')} ms; ` +
          `proxies' CPU ${fmt(perRequestMs(measured.cpuCold.proxies, c), 2)} ms per request cold, ` +
          `${fmt(perRequestMs(measured.cpuSettled?.proxies ?? Number.NaN, measured.settled), 2)} settled`,
      );
    } catch (err) {
      result.failure = (err as Error).message.split('\n')[0] ?? String(err);
      log(`bench: cold start failed and is left out from now on:\n${(err as Error).message}`);
      break;
    }
  }
  return result;
}
