// Open-loop load generator (wrk2-style, since Debian has no wrk2): sends GETs on a fixed timetable and
// measures each latency from the moment the request was DUE, not from when it was sent, so a slow
// server cannot hide its stalls by slowing the generator down (coordinated omission).
//   node bench/loadgen.ts --url http://127.0.120.1:8080/ --rate 1000 --duration 8 --warmup 2 --connections 64
// Prints "window-start" and "window-end" lines when the measured window opens and closes (so the caller
// can read CPU counters at those moments), then one JSON object (LoadResult) on stdout.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { percentileOfSorted } from './lib/stats.ts';

export interface LoadResult {
  url: string;
  rate: number;
  durationS: number;
  /** Requests due in the measured window (warm-up excluded). */
  scheduled: number;
  completed: number;
  errors: number;
  non2xx: number;
  achievedRps: number;
  /** Latency in milliseconds from the due time to the last byte of the response. */
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** Latency from the moment the request was actually sent (not corrected), ms, for reference. */
  fromSendMs: { p50: number; p99: number };
  /** How late the generator itself sent requests (ms): shows whether it kept up. */
  sendLagMs: { p50: number; p99: number; max: number };
  /** Median latency (ms) of the requests due in each second of the measured window: shows stalls. */
  perSecondP50Ms: number[];
  /** The same seconds' p99 (ms); older result files lack it. */
  perSecondP99Ms?: number[];
  /** Requests due in each second that failed or never finished within the timeout. */
  perSecondFailed?: number[];
  /** Measured window start/end as Date.now() values, for matching with CPU samples. */
  windowStart: number;
  windowEnd: number;
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    host: { type: 'string' },
    'timeout-ms': { type: 'string', default: '5000' },
  },
});

if (!values.url) {
  process.stderr.write('loadgen: --url is required\n');
  process.exit(2);
}
const target = new URL(values.url);
const rate = Number(values.rate);
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
const connections = Number(values.connections);
const timeoutMs = Number(values['timeout-ms']);
if (!(rate > 0 && durationS > 0 && warmupS >= 0 && connections > 0)) {
  process.stderr.write('loadgen: --rate, --duration, --connections must be positive numbers\n');
  process.exit(2);
}

const pool = new Pool(target.origin, {
  connections,
  pipelining: 1,
  keepAliveTimeout: 30_000,
  headersTimeout: timeoutMs,
  bodyTimeout: timeoutMs,
});
const path = `${target.pathname}${target.search}`;
const headers: Record<string, string> = values.host ? { host: values.host } : {};

const intervalMs = 1000 / rate;
const warmupCount = Math.round(warmupS * rate);
const measuredCount = Math.round(durationS * rate);
const total = warmupCount + measuredCount;
// Latencies in the measured window, one slot per scheduled request (NaN = failed or never finished).
const latencies = new Float64Array(measuredCount).fill(Number.NaN);
const sendLags = new Float64Array(measuredCount);
let completed = 0;
let errors = 0;
let non2xx = 0;
let outstanding = 0;
let next = 0;
let startAt = 0;
let windowStart = 0;
let windowEnd = 0;
let finish: () => void = () => {};
const allDone = new Promise<void>((resolve) => {
  finish = resolve;
});

function settle(): void {
  outstanding -= 1;
  if (next >= total && outstanding === 0) finish();
}

function fire(index: number, due: number): void {
  const measured = index >= warmupCount;
  const slot = index - warmupCount;
  if (measured) sendLags[slot] = performance.now() - due;
  outstanding += 1;
  pool.request({ path, method: 'GET', headers }).then(
    async (res) => {
      try {
        await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
      } catch {
        if (measured) errors += 1;
        return settle();
      }
      if (measured) {
        latencies[slot] = performance.now() - due;
        completed += 1;
        if (res.statusCode < 200 || res.statusCode > 299) non2xx += 1;
      }
      settle();
    },
    () => {
      if (measured) errors += 1;
      settle();
    },
  );
}

// Sends every request that is due by now, then sleeps until the next one is due.
function tick(): void {
  const now = performance.now();
  while (next < total && startAt + next * intervalMs <= now) {
    if (next === warmupCount) {
      windowStart = Date.now();
      process.stdout.write('window-start\n');
    }
    fire(next, startAt + next * intervalMs);
    next += 1;
  }
  if (next < total) {
    setTimeout(tick, Math.max(0, startAt + next * intervalMs - performance.now()));
  } else {
    windowEnd = Date.now();
    process.stdout.write('window-end\n');
    if (outstanding === 0) finish();
  }
}

startAt = performance.now() + 20;
setTimeout(tick, 20);
const hardStop = setTimeout(finish, (warmupS + durationS) * 1000 + timeoutMs + 2000);
await allDone;
clearTimeout(hardStop);

const ok = Array.from(latencies)
  .filter((v) => !Number.isNaN(v))
  .sort((a, b) => a - b);
const lags = Array.from(sendLags).sort((a, b) => a - b);
const fromSend = Array.from(latencies, (v, i) => v - (sendLags[i] as number))
  .filter((v) => !Number.isNaN(v))
  .sort((a, b) => a - b);
const round = (v: number): number => Math.round(v * 1000) / 1000;
const perSecondP50Ms: number[] = [];
const perSecondP99Ms: number[] = [];
const perSecondFailed: number[] = [];
for (let from = 0; from < measuredCount; from += rate) {
  const due = latencies.subarray(from, Math.min(measuredCount, from + rate));
  const second = Array.from(due)
    .filter((v) => !Number.isNaN(v))
    .sort((a, b) => a - b);
  perSecondP50Ms.push(round(percentileOfSorted(second, 50)));
  perSecondP99Ms.push(round(percentileOfSorted(second, 99)));
  perSecondFailed.push(due.length - second.length);
}
const result: LoadResult = {
  url: target.href,
  rate,
  durationS,
  scheduled: measuredCount,
  completed,
  errors: errors + (measuredCount - completed - errors),
  non2xx,
  achievedRps: round(completed / durationS),
  latencyMs: {
    p50: round(percentileOfSorted(ok, 50)),
    p90: round(percentileOfSorted(ok, 90)),
    p99: round(percentileOfSorted(ok, 99)),
    p999: round(percentileOfSorted(ok, 99.9)),
    max: round(ok.at(-1) ?? Number.NaN),
    mean: round(ok.reduce((sum, v) => sum + v, 0) / (ok.length || 1)),
  },
  fromSendMs: { p50: round(percentileOfSorted(fromSend, 50)), p99: round(percentileOfSorted(fromSend, 99)) },
  sendLagMs: {
    p50: round(percentileOfSorted(lags, 50)),
    p99: round(percentileOfSorted(lags, 99)),
    max: round(lags.at(-1) ?? Number.NaN),
  },
  perSecondP50Ms,
  perSecondP99Ms,
  perSecondFailed,
  windowStart,
  windowEnd,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
await pool.destroy();
process.exit(0);
