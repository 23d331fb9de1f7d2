// Control-plane convergence: starts the real control plane on 127.0.121.1 with a small demo-shaped config,
// connects N simulated proxies (bench/xds-sim.ts: real discovery streams and ACKs), flips service B's
// traffic split through the resource API and reports how long until every proxy has ACKed it and how many
// bytes that streamed; then scopes service-b's pods with a Sidecar and adds one pod of service-b, to show
// which proxies its endpoint reaches. With two replicas, a three-member etcd cluster (Debian's etcd-server,
// on 127.0.122.1-3) holds the config, replica B runs on 127.0.121.2, the proxies are spread over both and
// every change goes through replica A: half the proxies learn it through etcd's watch on B.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdCluster, etcdInstalled } from '../../packages/demo/src/launcher/etcd.ts';
import type { EndpointResult, SimResult } from '../xds-sim.ts';
import { type Started, start, stop, track, waitForHttp } from './processes.ts';
import { median } from './stats.ts';

export const CONTROL_PLANE_MAIN = 'packages/control-plane/src/main.ts';
const CONTROL_PLANE_PLAIN = 'bench/apps/control-plane-plain.ts';
const CP = { host: '127.0.121.1', port: 15010, monitoringPort: 15014 };
/** Replica B, and the etcd members, when a run has two replicas. */
const REPLICA_B = '127.0.121.2';
const ETCD_HOSTS = ['127.0.122.1', '127.0.122.2', '127.0.122.3'];

export interface ConvergenceResult {
  proxies: number;
  /** Control-plane replicas (1: the config directory; 2: sharing etcd). */
  replicas: number;
  status: 'measured' | 'pending' | 'failed';
  changes: number;
  /** Median over changes of each change's median / p99 / max ACK time, ms. */
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  /** Median over changes of the bytes all proxies were streamed for one change, MiB. */
  mibPerChange: number;
  /** The new-endpoint measurement, when it ran. */
  endpoint?: EndpointResult;
  note: string;
  raw?: SimResult;
}

const BASE_CONFIG = `# Demo-shaped mesh for the convergence benchmark: service B split between v1 and v2.
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: service-b
  namespace: default
spec:
  host: service-b
  subsets:
    - name: v1
      labels:
        version: v1
    - name: v2
      labels:
        version: v2
`;

/**
 * Sidecars as Istio users scope a mesh: service-a's pods call service-b; service-b's pods call nothing in
 * the mesh (istio-system holds nothing here), so a new endpoint of service-b concerns service-a's pods only.
 */
const SCOPE_CONFIG = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: service-a
  namespace: default
spec:
  workloadSelector:
    labels:
      app: service-a
  egress:
    - hosts: ["./service-b"]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: service-b
  namespace: default
spec:
  workloadSelector:
    labels:
      app: service-b
  egress:
    - hosts: ["istio-system/*"]
`;

function splitFor(v1: number, v2: number): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: service-b
  namespace: default
spec:
  hosts:
    - service-b
  http:
    - route:
        - destination:
            host: service-b
            subset: v1
          weight: ${v1}
        - destination:
            host: service-b
            subset: v2
          weight: ${v2}
`;
}

export function controlPlaneAvailable(repoRoot: string): boolean {
  return existsSync(join(repoRoot, CONTROL_PLANE_MAIN));
}

function pending(
  run: { proxies: number; replicas?: number },
  note: string,
  status: ConvergenceResult['status'] = 'pending',
): ConvergenceResult {
  const nan = Number.NaN;
  const { proxies, replicas = 1 } = run;
  return {
    proxies,
    replicas,
    status,
    changes: 0,
    medianMs: nan,
    p99Ms: nan,
    maxMs: nan,
    mibPerChange: nan,
    note,
  };
}

function runSim(
  benchDir: string,
  workDir: string,
  replicaHosts: readonly string[],
  count: number,
  changes: number,
  timeoutMs: number,
  controlPlanePid: number,
): Promise<SimResult> {
  const args = [
    join(benchDir, 'xds-sim.ts'),
    '--control-plane',
    replicaHosts.map((h) => `http://${h}:${CP.port}`).join(','),
    '--count',
    String(count),
    '--changes',
    String(changes),
    '--timeout-ms',
    String(timeoutMs),
    '--change-a',
    join(workDir, 'change-50-50.yaml'),
    '--change-b',
    join(workDir, 'change-90-10.yaml'),
    '--control-plane-pid',
    String(controlPlanePid),
    // The new-endpoint measurement is the one-replica run's.
    ...(replicaHosts.length === 1 ? ['--scope', join(workDir, 'scope-sidecars.yaml')] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    track(child);
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        const lines = Buffer.concat(out).toString().trim().split('\n');
        resolve(JSON.parse(lines.at(-1) ?? '') as SimResult);
      } catch {
        reject(new Error(`xds-sim exited with ${code} and no result`));
      }
    });
  });
}

/** What the simulated proxies and the control plane cost during the changes, for the table's note. */
function costNote(changes: SimResult['changes']): string {
  const med = (pick: (c: SimResult['changes'][number]) => number | undefined) =>
    median(changes.map(pick).filter((v): v is number => v !== undefined));
  const cp = med((c) => c.controlPlaneCpuMs);
  const mib = med((c) => c.streamBytes) / 2 ** 20;
  return (
    `per change: PUT answered in ${med((c) => c.putMs).toFixed(0)} ms, ${mib.toFixed(1)} MiB streamed` +
    `${Number.isFinite(cp) ? `, control plane CPU ${cp.toFixed(0)} ms` : ''}` +
    `, simulator CPU ${med((c) => c.simCpuMs).toFixed(0)} ms (event loop ${(100 * med((c) => c.simLoopBusy)).toFixed(0)}% busy)`
  );
}

/** Problems with ACK posts, named for what they are (the simulator never sends a NACK). */
function ackPostNote(sim: SimResult): string {
  const problems = [
    sim.ackPostsRefused ? `${sim.ackPostsRefused} ACK posts refused (non-2xx)` : '',
    sim.ackPostsFailed ? `${sim.ackPostsFailed} ACK posts failed (no answer)` : '',
    sim.ackPostsStale
      ? `${sim.ackPostsStale} ACKs for a superseded nonce (${sim.changes.reduce((n, c) => n + c.staleAcks, 0)} of them during the changes)`
      : '',
  ].filter(Boolean);
  return problems.length > 0 ? problems.join(', ') : 'every ACK post answered 2xx';
}

export interface ConvergenceRun {
  proxies: number;
  changes: number;
  timeoutMs: number;
  /** 2: two replicas sharing a three-member etcd cluster. Default 1 (the config directory). */
  replicas?: 1 | 2;
}

export async function measureConvergence(
  repoRoot: string,
  benchDir: string,
  workDir: string,
  runs: ConvergenceRun[],
  /** Extra Node options for the control plane (e.g. --cpu-prof). */
  controlPlaneNodeArgs: (run: ConvergenceRun) => string[] = () => [],
): Promise<ConvergenceResult[]> {
  if (!controlPlaneAvailable(repoRoot)) {
    return runs.map((r) => pending(r, `${CONTROL_PLANE_MAIN} does not exist yet`));
  }
  const results: ConvergenceResult[] = [];
  for (const run of runs) {
    // A fresh control plane and config directory per size and replica count, so one run can neither warm
    // the next nor leave it its changes and Sidecars.
    const configDir = join(workDir, `cp-config-${run.proxies}-${run.replicas ?? 1}`);
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'service-b.yaml'), `${BASE_CONFIG}---\n${splitFor(90, 10)}`);
    writeFileSync(join(workDir, 'change-50-50.yaml'), splitFor(50, 50));
    writeFileSync(join(workDir, 'change-90-10.yaml'), splitFor(90, 10));
    writeFileSync(join(workDir, 'scope-sidecars.yaml'), SCOPE_CONFIG);
    const replicaHosts = run.replicas === 2 ? [CP.host, REPLICA_B] : [CP.host];
    if (run.replicas === 2 && !etcdInstalled()) {
      results.push(pending(run, 'needs etcd: apt-get install etcd-server'));
      continue;
    }
    const controlPlanes: Started[] = [];
    let etcd: EtcdCluster | undefined;
    try {
      let store: string[] = [];
      if (run.replicas === 2) {
        const dir = join(workDir, `etcd-${run.proxies}`);
        mkdirSync(dir, { recursive: true });
        etcd = new EtcdCluster({ hosts: ETCD_HOSTS, dir });
        await etcd.start();
        store = ['--store', etcd.storeUrl];
      }
      for (const [i, host] of replicaHosts.entries()) {
        const controlPlane = start(workDir, {
          name: `control-plane-${run.proxies}${run.replicas === 2 ? `-${i === 0 ? 'a' : 'b'}` : ''}`,
          command: process.execPath,
          args: [
            ...controlPlaneNodeArgs(run),
            // Embedded without its CA: the simulated proxies speak plain discovery (apps/control-plane-plain.ts).
            join(repoRoot, CONTROL_PLANE_PLAIN),
            '--config-dir',
            configDir,
            ...store,
            ...(run.replicas === 2 ? ['--replica-id', `replica-${i === 0 ? 'a' : 'b'}`] : []),
            '--address',
            host,
            '--port',
            String(CP.port),
            '--monitoring-port',
            String(CP.monitoringPort),
            '--no-state',
            '--log-level',
            'warn',
          ],
          cwd: repoRoot,
        });
        controlPlanes.push(controlPlane);
        await waitForHttp(`http://${host}:${CP.port}/v1/proxies`, controlPlane, 20_000, (s) => s === 200);
      }
      const controlPlane = controlPlanes[0] as Started;
      process.stderr.write(
        `bench: convergence with ${run.proxies} simulated proxies${run.replicas === 2 ? ' over two replicas on etcd' : ''}\n`,
      );
      const sim = await runSim(
        benchDir,
        workDir,
        replicaHosts,
        run.proxies,
        run.changes,
        run.timeoutMs,
        controlPlane.pid,
      );
      const measured = sim.changes.filter((c) => c.missing === 0 && c.putStatus >= 200 && c.putStatus < 300);
      if (sim.error || measured.length === 0) {
        const detail =
          sim.error ?? sim.changes.map((c) => `PUT ${c.putStatus}, ${c.missing} missing`).join('; ');
        results.push({ ...pending(run, detail || 'no change was ACKed by all', 'failed'), raw: sim });
        continue;
      }
      const med = (pick: (c: (typeof measured)[number]) => number) => median(measured.map(pick));
      results.push({
        proxies: run.proxies,
        replicas: replicaHosts.length,
        status: 'measured',
        changes: measured.length,
        medianMs: med((c) => c.medianMs),
        p99Ms: med((c) => c.p99Ms),
        maxMs: med((c) => c.maxMs),
        mibPerChange: med((c) => c.streamBytes) / 2 ** 20,
        ...(sim.endpoint ? { endpoint: sim.endpoint } : {}),
        note:
          `PUT of a VirtualService (B split 90/10 ⇄ 50/50) → ACK answered; streams opened in ${sim.connectMs.toFixed(0)} ms; ` +
          `${run.replicas === 2 ? 'proxies alternate between replica A (changes applied here; its CPU counted) and B, config in a three-member etcd; ' : ''}` +
          `${costNote(measured)}; ${ackPostNote(sim)}`,
        raw: sim,
      });
    } catch (err) {
      results.push(pending(run, (err as Error).message.split('\n')[0] ?? 'error', 'failed'));
    } finally {
      for (const controlPlane of controlPlanes) await stop(controlPlane);
      await etcd?.stop();
    }
  }
  return results;
}
