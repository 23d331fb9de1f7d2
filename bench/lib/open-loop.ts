// Runs bench/loadgen.ts (the open-loop generator) in its own process and calls back when its measured
// window opens and closes, so CPU counters of the proxies can be read at exactly those moments.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { LoadResult } from '../loadgen.ts';
import { track } from './processes.ts';

export interface OpenLoopOptions {
  benchDir: string;
  url: string;
  rate: number;
  durationS: number;
  warmupS: number;
  connections: number;
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

export function runOpenLoop(options: OpenLoopOptions): Promise<LoadResult> {
  const args = [
    join(options.benchDir, 'loadgen.ts'),
    '--url',
    options.url,
    '--rate',
    String(options.rate),
    '--duration',
    String(options.durationS),
    '--warmup',
    String(options.warmupS),
    '--connections',
    String(options.connections),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let pending = '';
    let result: LoadResult | undefined;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line === 'window-start') options.onWindowStart?.();
        else if (line === 'window-end') options.onWindowEnd?.();
        else if (line.startsWith('{')) result = JSON.parse(line) as LoadResult;
        newline = pending.indexOf('\n');
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`loadgen exited with ${code} and no result:\n${stderr}`));
    });
  });
}
