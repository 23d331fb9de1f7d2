// Active health state of one host: a two-way threshold state machine (Envoy's healthy/unhealthy
// thresholds). Pure, so tests drive it with results directly.

export type ProbeResult = 'success' | 'failure' | 'timeout';
export type ActiveHealth = 'healthy' | 'unhealthy' | 'unchecked';

export interface Thresholds {
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/**
 * New hosts start 'unchecked', which counts as healthy: a freshly pushed endpoint takes traffic at
 * once and is turned away after unhealthyThreshold failed checks.
 */
export class HealthState {
  status: ActiveHealth = 'unchecked';
  #successes = 0;
  #failures = 0;

  get healthy(): boolean {
    return this.status !== 'unhealthy';
  }

  /** Records one probe result; returns true when the host changed between healthy and unhealthy. */
  record(result: ProbeResult, thresholds: Thresholds): boolean {
    const wasHealthy = this.healthy;
    if (result === 'success') {
      this.#failures = 0;
      this.#successes++;
      if (this.status === 'unhealthy') {
        if (this.#successes >= thresholds.healthyThreshold) this.status = 'healthy';
      } else {
        this.status = 'healthy';
      }
    } else {
      this.#successes = 0;
      this.#failures++;
      if (this.status !== 'unhealthy' && this.#failures >= thresholds.unhealthyThreshold) {
        this.status = 'unhealthy';
      } else if (this.status === 'unchecked') {
        // Checked now, still healthy until the threshold is reached.
        this.status = 'healthy';
      }
    }
    return wasHealthy !== this.healthy;
  }

  /** Back to 'unchecked' (the cluster's health check was removed). */
  reset(): void {
    this.status = 'unchecked';
    this.#successes = 0;
    this.#failures = 0;
  }
}
