// Outlier detection (passive health): count each host's consecutive 5xx and gateway errors from real
// traffic and eject a host that reaches a threshold for baseEjectionTime x (times ejected). Pure state
// machines over an injected clock: nothing here owns a timer, so it tests without waiting.
import type { OutlierDetection } from '@strait/api';

/** How one request to a host ended, as the router saw it. */
export interface Outcome {
  status?: number;
  error?: 'connect-failure' | 'reset' | 'timeout';
}

/** Envoy's default for consecutive_5xx when outlier detection is on but the field is absent. */
export const DEFAULT_CONSECUTIVE_5XX = 5;

/** One host's passive-health state. Lives on the Host, so it survives config updates. */
export class OutlierState {
  consecutive5xx = 0;
  consecutiveGatewayErrors = 0;
  /** Times this host has been ejected (the ejection-time multiplier); decays while it behaves. */
  ejections = 0;
  /** Epoch ms until which the host is ejected; 0 when it is not. */
  ejectedUntil = 0;
  /** When the host last came back (or 0); the multiplier decays only after a clean interval. */
  returnedAt = 0;

  isEjected(now: number): boolean {
    return this.ejectedUntil > now;
  }

  resetCounters(): void {
    this.consecutive5xx = 0;
    this.consecutiveGatewayErrors = 0;
  }
}

/** Anything that carries an OutlierState (a Host). */
export interface OutlierTarget {
  readonly outlier: OutlierState;
}

export function isGatewayError(outcome: Outcome): boolean {
  if (outcome.error !== undefined) return true;
  const s = outcome.status ?? 0;
  return s === 502 || s === 503 || s === 504;
}

export function is5xx(outcome: Outcome): boolean {
  return outcome.error !== undefined || (outcome.status ?? 0) >= 500;
}

export class OutlierDetector {
  config: OutlierDetection;

  constructor(config: OutlierDetection) {
    this.config = config;
  }

  /**
   * Feeds one outcome for `host`. Returns true when this outcome ejected the host. `all` is every host
   * in the cluster, for the max-ejection-percent check. Results for an already ejected host (requests
   * that were in flight) are ignored.
   */
  record(host: OutlierTarget, outcome: Outcome, all: readonly OutlierTarget[], now: number): boolean {
    const state = host.outlier;
    if (state.isEjected(now)) return false;
    if (!is5xx(outcome)) {
      state.resetCounters();
      return false;
    }
    state.consecutive5xx++;
    if (isGatewayError(outcome)) state.consecutiveGatewayErrors++;
    else state.consecutiveGatewayErrors = 0;

    const limit5xx = this.config.consecutive5xx ?? DEFAULT_CONSECUTIVE_5XX;
    const limitGateway = this.config.consecutiveGatewayErrors ?? 0;
    const tripped =
      (limit5xx > 0 && state.consecutive5xx >= limit5xx) ||
      (limitGateway > 0 && state.consecutiveGatewayErrors >= limitGateway);
    if (!tripped) return false;
    // Envoy: eject only while the ejected share is below the maximum. The counters are kept when refused,
    // so the next failure tries again.
    if (!this.ejectionAllowed(all, now)) return false;
    state.ejections++;
    state.ejectedUntil = now + this.config.baseEjectionTimeMs * state.ejections;
    state.resetCounters();
    return true;
  }

  ejectionAllowed(all: readonly OutlierTarget[], now: number): boolean {
    if (all.length === 0) return false;
    let ejected = 0;
    for (const h of all) if (h.outlier.isEjected(now)) ejected++;
    return (ejected * 100) / all.length < this.config.maxEjectionPercent;
  }

  /**
   * The interval sweep: brings back hosts whose time is up and lets the multiplier of hosts that
   * stayed in for a whole interval decay by one. Returns the hosts that came back.
   */
  sweep<T extends OutlierTarget>(all: readonly T[], now: number): T[] {
    const returned: T[] = [];
    for (const host of all) {
      const state = host.outlier;
      if (state.ejectedUntil !== 0 && state.ejectedUntil <= now) {
        state.returnedAt = state.ejectedUntil;
        state.ejectedUntil = 0;
        returned.push(host);
      } else if (
        state.ejectedUntil === 0 &&
        state.ejections > 0 &&
        now - state.returnedAt >= this.config.intervalMs
      ) {
        state.ejections--;
        state.returnedAt = now;
      }
    }
    return returned;
  }
}
