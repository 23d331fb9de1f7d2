// A cluster's circuit breakers (Envoy's, Istio's connectionPool): requests and retries in flight against
// their limits, a pending-request allowance above the connection limit, and how often each one tripped.
import type { CircuitBreakers } from '@strait/api';
import type { BreakerName } from './types.ts';

/** Envoy's circuit breaker defaults (max_connections/pending/requests/retries). */
export const DEFAULT_BREAKER_LIMIT = 1024;

export class CircuitBreakerState {
  requests = 0;
  retries = 0;
  readonly opens: Record<BreakerName, number> = { max_requests: 0, max_pending_requests: 0, max_retries: 0 };
  readonly #onOpen: (breaker: BreakerName) => void;

  constructor(onOpen: (breaker: BreakerName) => void) {
    this.#onOpen = onOpen;
  }

  /** A new request; false means refuse it with 503 UO. Pair with releaseRequest(). */
  acquireRequest(limits: CircuitBreakers | undefined): boolean {
    if (this.requests >= (limits?.maxRequests ?? DEFAULT_BREAKER_LIMIT)) return this.#open('max_requests');
    const pending = this.requests - (limits?.maxConnections ?? DEFAULT_BREAKER_LIMIT);
    if (pending >= 0 && pending >= (limits?.maxPendingRequests ?? DEFAULT_BREAKER_LIMIT))
      return this.#open('max_pending_requests');
    this.requests++;
    return true;
  }

  releaseRequest(): void {
    if (this.requests > 0) this.requests--;
  }

  /** A retry; false means do not retry (503 UO if nothing else). Pair with releaseRetry(). */
  acquireRetry(limits: CircuitBreakers | undefined): boolean {
    if (this.retries >= (limits?.maxRetries ?? DEFAULT_BREAKER_LIMIT)) return this.#open('max_retries');
    this.retries++;
    return true;
  }

  releaseRetry(): void {
    if (this.retries > 0) this.retries--;
  }

  #open(breaker: BreakerName): false {
    this.opens[breaker]++;
    this.#onOpen(breaker);
    return false;
  }
}
