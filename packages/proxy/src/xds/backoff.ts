// Reconnect delays: exponential growth capped at a maximum, with full jitter so that
// many proxies losing the control plane at once do not all come back in the same instant.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** The delay before reconnect attempt `attempt` (0-based): uniform in [0, min(max, initial * 2^attempt)]. */
export function nextBackoffMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return random() * ceiling;
}
