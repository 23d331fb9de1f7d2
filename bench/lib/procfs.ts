// Reads a process's CPU time and memory from /proc (Linux only), for the per-proxy cost figures.
// CPU comes from /proc/<pid>/stat (utime + stime), memory from /proc/<pid>/status (VmRSS, VmHWM, RssAnon).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Kernel clock ticks per second (USER_HZ), normally 100. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Fields of /proc/<pid>/stat after the command name; index 0 is field 3 (state). */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export interface CpuTimes {
  user: number;
  system: number;
}

/** User and system CPU seconds a process has used so far (zeros if it is gone). */
export function cpuTimes(pid: number): CpuTimes {
  const fields = statFields(pid);
  if (!fields) return { user: 0, system: 0 };
  // utime is field 14 and stime field 15 of /proc/<pid>/stat.
  return { user: Number(fields[11]) / ticksPerSecond(), system: Number(fields[12]) / ticksPerSecond() };
}

/** User + system CPU seconds a process has used so far (0 if it is gone). */
export function cpuSeconds(pid: number): number {
  const times = cpuTimes(pid);
  return times.user + times.system;
}

export interface MemoryStatus {
  rssKb: number;
  peakRssKb: number;
  /** The anonymous (private) part of RSS: without the executable's and libraries' pages, shared by every process running them. */
  anonKb: number;
}

/** Current and peak resident set size (kB) of a process; zeros if it is gone. */
export function memoryStatus(pid: number): MemoryStatus {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+)/m.exec(text);
    const hwm = /^VmHWM:\s+(\d+)/m.exec(text);
    const anon = /^RssAnon:\s+(\d+)/m.exec(text);
    return { rssKb: Number(rss?.[1] ?? 0), peakRssKb: Number(hwm?.[1] ?? 0), anonKb: Number(anon?.[1] ?? 0) };
  } catch {
    return { rssKb: 0, peakRssKb: 0, anonKb: 0 };
  }
}

/** A process and all its descendants (e.g. nginx's master and worker). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields) continue;
    const parent = Number(fields[1]);
    const list = children.get(parent) ?? [];
    list.push(Number(entry));
    children.set(parent, list);
  }
  const tree: number[] = [];
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    tree.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Samples the summed RSS (and its anonymous part) of some processes at a fixed period; keeps the highest seen. */
export class RssSampler {
  readonly #pids: number[];
  #timer: NodeJS.Timeout | undefined;
  peakKb = 0;
  peakAnonKb = 0;

  constructor(pids: number[], periodMs = 50) {
    this.#pids = pids;
    this.sample();
    this.#timer = setInterval(() => this.sample(), periodMs);
  }

  sample(): void {
    let total = 0;
    let anon = 0;
    for (const pid of this.#pids) {
      const status = memoryStatus(pid);
      total += status.rssKb;
      anon += status.anonKb;
    }
    if (total > this.peakKb) this.peakKb = total;
    if (anon > this.peakAnonKb) this.peakAnonKb = anon;
  }

  stop(): number {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.sample();
    return this.peakKb;
  }
}
