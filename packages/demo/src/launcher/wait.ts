// Polling helpers for start-up: wait until a URL answers, or until a condition holds.
import { setTimeout as sleep } from 'node:timers/promises';

export async function httpStatus(url: string, timeoutMs = 1000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes; then throws `describe()`. */
export async function waitUntil<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(describe());
    await sleep(intervalMs);
  }
}

export function waitForOk(url: string, timeoutMs: number, what: string): Promise<true> {
  return waitUntil(
    async () => ((await httpStatus(url)) === 200 ? true : undefined),
    timeoutMs,
    () => `${what} did not answer 200 at ${url} within ${Math.round(timeoutMs / 1000)} s`,
  );
}
