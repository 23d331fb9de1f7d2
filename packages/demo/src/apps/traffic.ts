// The traffic generator: a steady request rate at the ingress so that dashboards move.
// Bounded: at most `maxInFlight` requests at once (extra ticks are counted as skipped),
// optionally a total count or a duration; stops on SIGINT/SIGTERM when run as a program.
import pino from 'pino';
import { Agent, request } from 'undici';
import { type Env, envNumber, envString } from './env.ts';

export interface TrafficOptions {
  target: string;
  /** Requests per second. */
  rate: number;
  maxInFlight: number;
  /** Stop after this many requests (0 = no limit). */
  maxRequests: number;
  /** Stop after this long (0 = until stopped). */
  durationMs: number;
  timeoutMs: number;
  /** Seconds between summary log lines (0 = none). */
  reportEverySeconds: number;
}

export interface TrafficResult {
  status: number;
  body: unknown;
  error?: string;
}

export interface TrafficStats {
  sent: number;
  completed: number;
  skipped: number;
  errors: number;
  byStatus: Record<string, number>;
}

export interface RunningTraffic {
  stats: TrafficStats;
  /** Resolves when the generator has stopped by itself (count or duration reached). */
  done: Promise<TrafficStats>;
  stop(): Promise<TrafficStats>;
}

export function trafficOptionsFromEnv(env: Env): TrafficOptions {
  return {
    target: envString(env, 'TARGET', 'http://127.0.0.1:8080/'),
    rate: envNumber(env, 'RATE', 5, 0.1, 10_000),
    maxInFlight: envNumber(env, 'MAX_IN_FLIGHT', 50, 1, 10_000),
    maxRequests: envNumber(env, 'MAX_REQUESTS', 0, 0, Number.MAX_SAFE_INTEGER),
    durationMs: envNumber(env, 'DURATION_SECONDS', 0, 0, 31_536_000) * 1000,
    timeoutMs: envNumber(env, 'TIMEOUT_MS', 10_000, 1, 600_000),
    reportEverySeconds: envNumber(env, 'REPORT_EVERY_SECONDS', 10, 0, 86_400),
  };
}

export function startTraffic(
  options: TrafficOptions,
  onResult?: (result: TrafficResult) => void,
): RunningTraffic {
  const log = pino({ name: 'traffic' });
  const agent = new Agent({ keepAliveTimeout: 4000, connections: options.maxInFlight });
  const stats: TrafficStats = { sent: 0, completed: 0, skipped: 0, errors: 0, byStatus: {} };
  const inFlight = new Set<Promise<void>>();
  const started = Date.now();
  const intervalMs = 1000 / options.rate;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let reporter: NodeJS.Timeout | undefined;
  let resolveDone: (s: TrafficStats) => void = () => {};
  const done = new Promise<TrafficStats>((resolve) => {
    resolveDone = resolve;
  });

  async function one(): Promise<void> {
    let result: TrafficResult;
    try {
      const res = await request(options.target, {
        dispatcher: agent,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      const text = await res.body.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // plain-text answer (e.g. a proxy error): keep it as text
      }
      result = { status: res.statusCode, body };
      const key = String(res.statusCode);
      stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1;
    } catch (err) {
      stats.errors += 1;
      result = { status: 0, body: null, error: (err as Error).message };
    }
    stats.completed += 1;
    onResult?.(result);
  }

  function fire(): void {
    if (options.maxRequests > 0 && stats.sent >= options.maxRequests) return;
    if (inFlight.size >= options.maxInFlight) {
      stats.skipped += 1;
      return;
    }
    stats.sent += 1;
    const p = one().finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  // Ticks are scheduled against the start time, so the rate does not drift with timer lateness.
  let ticks = 0;
  function schedule(): void {
    if (stopped) return;
    const limitReached =
      (options.maxRequests > 0 && stats.sent >= options.maxRequests) ||
      (options.durationMs > 0 && Date.now() - started >= options.durationMs);
    if (limitReached) {
      void finish();
      return;
    }
    fire();
    ticks += 1;
    const next = started + ticks * intervalMs - Date.now();
    timer = setTimeout(schedule, Math.max(0, next));
  }

  async function finish(): Promise<TrafficStats> {
    if (!stopped) {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (reporter) clearInterval(reporter);
      await Promise.allSettled([...inFlight]);
      await agent.close();
      resolveDone(stats);
    }
    return done;
  }

  if (options.reportEverySeconds > 0) {
    reporter = setInterval(
      () => log.info({ ...stats, inFlight: inFlight.size }, 'traffic'),
      options.reportEverySeconds * 1000,
    );
    reporter.unref();
  }
  if (options.reportEverySeconds > 0)
    log.info({ target: options.target, rate: options.rate }, 'sending traffic');
  schedule();
  return { stats, done, stop: finish };
}
