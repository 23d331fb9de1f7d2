// Starting and stopping real strait processes for cross-process tests, with their output kept for failures.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SnapshotInput } from '@strait/api';
import { cluster, listener, route, snapshot } from './snapshots.ts';

export const REPO = new URL('../../', import.meta.url).pathname;
export const PROXY_MAIN = join(REPO, 'packages/proxy/src/main.ts');

export interface RunningProcess {
  child: ChildProcess;
  output: () => string;
  /** Sends SIGTERM (or the given signal) and waits for the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  exited: Promise<number | null>;
}

/** Every child still running; a test worker that exits kills them, so none outlives its test file. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns `node <script> ...args` with Node 24 (the one running the tests). */
export function spawnNode(script: string, args: string[], env: NodeJS.ProcessEnv = {}): RunningProcess {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  const keep = (chunk: Buffer): void => {
    out += chunk.toString();
    if (out.length > 1_000_000) out = out.slice(-500_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Writes a snapshot to a temporary file and returns its path. */
export function writeSnapshot(snapshot: SnapshotInput | Omit<SnapshotInput, 'version'>): string {
  const dir = mkdtempSync(join(tmpdir(), 'strait-test-'));
  const file = join(dir, 'snapshot.json');
  writeFileSync(file, JSON.stringify(snapshot));
  return file;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export interface ProxyUnderTest extends RunningProcess {
  address: string;
}

/**
 * How long a test proxy may take to become ready: seconds on a quiet machine, but three started at once
 * next to other suites' meshes once took over 15 s in CI.
 */
const PROXY_READY_TIMEOUT_MS = 25_000;

/** Starts strait-proxy from a snapshot and waits until it is ready on :15021. */
export async function startProxy(opts: {
  role: 'ingress' | 'sidecar' | 'egress';
  address: string;
  snapshot?: SnapshotInput | Omit<SnapshotInput, 'version'>;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  waitReady?: boolean;
}): Promise<ProxyUnderTest> {
  const args = ['--role', opts.role, '--address', opts.address, '--log-level', 'warn', ...(opts.args ?? [])];
  if (opts.snapshot) args.push('--bootstrap', writeSnapshot(opts.snapshot));
  if (opts.role === 'sidecar' && !args.includes('--workload')) args.push('--workload', 'test-workload');
  // Tests start dozens of proxies: the warm-up (a start-up speed feature with tests of its own) would add
  // up to its deadline to each on a busy machine, so it is off unless a test sets it.
  const proc = spawnNode(PROXY_MAIN, args, { STRAIT_WARMUP_REQUESTS: '0', ...opts.env });
  if (opts.waitReady !== false) {
    try {
      await waitFor(
        'proxy ready',
        async () => {
          if (proc.child.exitCode !== null) throw new Error(`proxy exited: ${proc.output()}`);
          const res = await fetch(`http://${opts.address}:15021/healthz/ready`);
          return res.status === 200 ? true : undefined;
        },
        PROXY_READY_TIMEOUT_MS,
      );
    } catch (err) {
      await proc.stop('SIGKILL');
      throw new Error(`${(err as Error).message}\n--- proxy output ---\n${proc.output()}`);
    }
  }
  return { ...proc, address: opts.address };
}

/**
 * Starts several processes at once. If any fails to start, the ones that did are stopped before the error is
 * thrown: a test whose set-up failed must not leave a proxy holding its addresses for the next run.
 */
export async function startAll<T extends readonly Promise<RunningProcess>[]>(
  starts: readonly [...T],
): Promise<{ [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(starts);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.stop('SIGKILL') : undefined)));
    throw failure.reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<RunningProcess>).value) as {
    [K in keyof T]: Awaited<T[K]>;
  };
}

/** An ingress whose gateway listener on :8080 sends every request to one upstream (cluster "up"). */
export function startSimpleIngress(
  address: string,
  upstream: { address: string; port: number },
  opts: {
    args?: string[];
    domains?: string[];
    listener?: Partial<SnapshotInput['listeners'][number]>;
    cluster?: Partial<SnapshotInput['clusters'][number]>;
  } = {},
): Promise<ProxyUnderTest> {
  const gateway = listener('gateway', 8080, [route('all', 'up')], opts.domains);
  return startProxy({
    role: 'ingress',
    address,
    ...(opts.args ? { args: opts.args } : {}),
    snapshot: snapshot(
      [{ ...gateway, ...opts.listener }],
      [cluster('up', [{ address: upstream.address, port: upstream.port }], opts.cluster)],
    ),
  });
}
