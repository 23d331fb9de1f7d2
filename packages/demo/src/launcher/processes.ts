// Child processes of the launcher: each one's output goes to its own log file, and each can be
// stopped (SIGTERM, then SIGKILL after a grace period) or killed on purpose by a test.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

export interface ProcessSpec {
  /** Short name, used for the log file (<logDir>/<name>.log). */
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

/** Every process started and not yet exited, so a dying launcher can take them all with it. */
export const liveProcesses = new Set<ManagedProcess>();

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly spec: ProcessSpec;
  #child: ChildProcess;
  #exit: Promise<number | null>;
  #exited = false;

  constructor(spec: ProcessSpec, logDir: string) {
    this.name = spec.name;
    this.spec = spec;
    this.logFile = join(logDir, `${spec.name}.log`);
    // A fresh log per start; the child writes straight into it, never depending on the launcher reading a pipe.
    const fd = openSync(this.logFile, 'w');
    try {
      this.#child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: { ...process.env, ...spec.env },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    liveProcesses.add(this);
    this.#exit = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exited = true;
        liveProcesses.delete(this);
        resolve(code ?? (signal ? -1 : null));
      });
      this.#child.once('error', () => {
        this.#exited = true;
        liveProcesses.delete(this);
        resolve(-1);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return !this.#exited;
  }

  /** Resolves with the exit code (-1 when ended by a signal) once the process has gone. */
  get exited(): Promise<number | null> {
    return this.#exit;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.#exited) this.#child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if still running after `graceMs`. Resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#exited) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.#exit;
    clearTimeout(timer);
  }
}
