// Follows log files like `tail -f`, printing each new line with the process name in front.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';

export interface Follower {
  stop(): void;
}

export function followLogs(files: string[], write: (line: string) => void, intervalMs = 250): Follower {
  const offsets = new Map<string, number>();
  const partial = new Map<string, string>();
  const width = Math.max(...files.map((f) => basename(f, '.log').length), 1);
  const poll = () => {
    for (const file of files) {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        continue;
      }
      const from = offsets.get(file) ?? 0;
      if (size <= from) continue;
      const buffer = Buffer.alloc(size - from);
      const fd = openSync(file, 'r');
      try {
        readSync(fd, buffer, 0, buffer.length, from);
      } finally {
        closeSync(fd);
      }
      offsets.set(file, size);
      const text = (partial.get(file) ?? '') + buffer.toString('utf8');
      const lines = text.split('\n');
      partial.set(file, lines.pop() ?? '');
      const name = basename(file, '.log').padEnd(width);
      for (const line of lines) write(`${name} | ${line}`);
    }
  };
  const timer = setInterval(poll, intervalMs);
  return { stop: () => clearInterval(timer) };
}
