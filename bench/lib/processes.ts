// Starts the benchmark's child processes, logs each to a file, and makes sure every one of them is
// stopped at the end: on normal exit, on an error, and on Ctrl-C / SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { processTree } from './procfs.ts';

export interface StartOptions {
  /** Short unique name, used for the log file names. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where stdout goes: a file path (default `<name>.out.log` in the log dir) or 'ignore'. */
  stdout?: string | 'ignore';
}

export interface Started {
  name: string;
  pid: number;
  child: ChildProcess;
  stdoutPath: string | undefined;
  stderrPath: string;
  exited: Promise<number | null>;
}

const live = new Set<Started>();
/** Short-lived helpers (wrk, the load generator, the convergence simulator) started elsewhere. */
const helpers = new Set<ChildProcess>();
const cleanups: (() => void)[] = [];
let handlersInstalled = false;

/** Tracks a child started outside start() so that it too is killed on exit or Ctrl-C. */
export function track(child: ChildProcess): ChildProcess {
  installHandlers();
  helpers.add(child);
  child.on('exit', () => helpers.delete(child));
  return child;
}

/** Registers a synchronous clean-up step (e.g. removing the work directory) run after the kills. */
export function onCleanup(step: () => void): void {
  cleanups.push(step);
}

/** Kills every child still running and their descendants, without waiting (safe inside an 'exit' handler). */
export function killAllNow(): void {
  const pids: number[] = [];
  for (const proc of live) pids.push(...processTree(proc.pid));
  for (const child of helpers) if (child.pid !== undefined) pids.push(...processTree(child.pid));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  helpers.clear();
  for (const step of cleanups.splice(0)) {
    try {
      step();
    } catch {
      // best effort
    }
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal} received, stopping ${live.size} process(es)\n`);
      killAllNow();
      process.exit(130);
    });
  }
}

/** Starts a process with its output in the log directory; it is tracked until stopped. */
export function start(logDir: string, options: StartOptions): Started {
  installHandlers();
  const stdoutPath =
    options.stdout === 'ignore' ? undefined : (options.stdout ?? join(logDir, `${options.name}.out.log`));
  const stderrPath = join(logDir, `${options.name}.err.log`);
  const outFd = stdoutPath ? openSync(stdoutPath, 'w') : 'ignore';
  const errFd = openSync(stderrPath, 'w');
  const child = spawn(options.command, options.args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', outFd, errFd],
  });
  if (typeof outFd === 'number') closeSync(outFd);
  closeSync(errFd);
  if (child.pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
  const started: Started = {
    name: options.name,
    pid: child.pid,
    child,
    stdoutPath,
    stderrPath,
    exited: new Promise((resolve) => {
      child.on('exit', (code) => {
        live.delete(started);
        resolve(code);
      });
      child.on('error', () => {
        live.delete(started);
        resolve(null);
      });
    }),
  };
  live.add(started);
  return started;
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL. */
export async function stop(proc: Started, graceMs = 3000): Promise<void> {
  if (!live.has(proc)) return;
  proc.child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
  if ((await Promise.race([proc.exited, timer])) === 'timeout') {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

export async function stopAll(procs: Iterable<Started> = live): Promise<void> {
  await Promise.all([...procs].map((proc) => stop(proc)));
}

/** The last lines of a process's stderr (and stdout), for error messages. */
export function tail(proc: Started, lines = 15): string {
  const read = (path: string | undefined): string => {
    if (!path) return '';
    try {
      return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  return `${read(proc.stderrPath)}\n${read(proc.stdoutPath)}`.trim();
}

/** Status code of a GET, or undefined when nothing answers. */
export function httpStatus(url: string, timeoutMs = 1000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Waits until `url` answers with a status accepted by `ok`; fails with the process's log tail if it dies. */
export async function waitForHttp(
  url: string,
  proc: Started | undefined,
  timeoutMs = 15_000,
  ok: (status: number) => boolean = (s) => s >= 200 && s < 500,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastStatus: number | undefined;
  while (Date.now() < deadline) {
    if (proc && !live.has(proc)) {
      throw new Error(`${proc.name} exited before ${url} answered:\n${tail(proc)}`);
    }
    lastStatus = await httpStatus(url, 500);
    if (lastStatus !== undefined && ok(lastStatus)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const detail = proc ? `\n${tail(proc)}` : '';
  throw new Error(`${url} did not become ready within ${timeoutMs} ms (last status ${lastStatus})${detail}`);
}
