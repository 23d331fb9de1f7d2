// The primary's patience with its workers: how long each step may take, and the back-off for re-forking
// a worker that keeps dying.

/** How long a worker may take to start (load the code, open its IPC channel). */
export const START_TIMEOUT_MS = 30_000;
/** How long a worker may take to apply a snapshot (compile it, bind new listeners). */
export const APPLY_TIMEOUT_MS = 15_000;
/** How long a worker may take to answer a question (clusters, metrics, log level). */
export const QUERY_TIMEOUT_MS = 5_000;
/** Added to --drain-timeout-ms for closing pools and flushing the access log before a worker must be gone. */
export const DRAIN_GRACE_MS = 5_000;
/** Re-fork back-off: first delay, cap, and how long a worker must live for its crash count to reset. */
const RESTART_INITIAL_MS = 100;
const RESTART_MAX_MS = 10_000;
export const STABLE_AFTER_MS = 10_000;

/** The wait before re-forking a worker that died, after `crashes` short-lived runs in a row (1, 2, ...). */
export function restartDelayMs(crashes: number): number {
  return Math.min(RESTART_MAX_MS, RESTART_INITIAL_MS * 2 ** Math.min(Math.max(crashes - 1, 0), 20));
}
