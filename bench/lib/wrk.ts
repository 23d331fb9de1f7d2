// Runs wrk (closed loop, saturating) against one URL and parses its summary.
import { execFile } from 'node:child_process';
import { track } from './processes.ts';

export interface WrkResult {
  rps: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  /** wrk's own mean latency (closed loop, so only a hint), ms. */
  meanLatencyMs: number;
}

function latencyToMs(value: string, unit: string): number {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return n;
}

/** Parses wrk's text summary; throws if the requests/sec line is missing. */
export function parseWrk(text: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rps) throw new Error(`could not read wrk output:\n${text}`);
  const requests = /(\d+) requests in/.exec(text);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const latency = /Latency\s+([\d.]+)(us|ms|s|m)\b/.exec(text);
  return {
    rps: Number(rps[1]),
    requests: Number(requests?.[1] ?? 0),
    non2xx: Number(non2xx?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1, 5).reduce((sum, n) => sum + Number(n), 0) : 0,
    meanLatencyMs: latency ? latencyToMs(latency[1] as string, latency[2] as string) : Number.NaN,
  };
}

export interface WrkOptions {
  wrk: string;
  url: string;
  threads: number;
  connections: number;
  durationS: number;
  /** Extra header lines, e.g. "Host: service-a". */
  headers?: string[];
}

export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    '--timeout',
    '5s',
  ];
  for (const header of options.headers ?? []) args.push('-H', header);
  args.push(options.url);
  return new Promise((resolve, reject) => {
    const child = execFile(
      options.wrk,
      args,
      { timeout: (options.durationS + 20) * 1000 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`wrk failed: ${error.message}\n${stderr}`));
        try {
          resolve(parseWrk(stdout));
        } catch (err) {
          reject(err);
        }
      },
    );
    track(child);
  });
}
