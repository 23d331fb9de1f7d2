// Wall-clock time for performance.now() readings, so that spans from different processes line up. Node's
// performance.timeOrigin is taken at a different moment from the monotonic clock's origin, and a process
// started on a busy machine can be tens of milliseconds off (a hop's span then starts before its caller's).

/** How many Date.now() ticks are sampled; the best (least delayed) one is kept. */
const SAMPLES = 3;

/**
 * Epoch milliseconds minus performance.now(), measured at the edge of a Date.now() tick: the tick's value
 * over the monotonic reading taken right after it. A reading delayed past the tick only lowers the result,
 * so the highest of a few samples is the closest (within microseconds, where Date.now() alone is 1 ms).
 */
export function measureEpochAnchor(): number {
  let best = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < SAMPLES; i++) {
    const first = Date.now();
    let tick = first;
    let perf = performance.now();
    while (tick === first) {
      tick = Date.now();
      perf = performance.now();
    }
    best = Math.max(best, tick - perf);
  }
  return best;
}

/** Measured once, when the proxy loads: at most a few milliseconds of busy-waiting at start-up. */
const anchor = measureEpochAnchor();

/** Epoch milliseconds (fractional) of a performance.now() reading. */
export function epochMs(perfMs: number): number {
  return anchor + perfMs;
}
