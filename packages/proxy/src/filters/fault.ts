// Fault injection (Istio's HTTPFaultInjection): decides, per request, whether to delay and/or abort it, and
// the filter that does so, delay first, then abort (Envoy's order: one request may get both).
import { type Fault, ResponseFlags } from '@strait/api';
import type { Stream } from '../listener/stream.ts';
import type { FilterResult, HttpFilter } from './types.ts';

/** What the fault filter does to one request: wait `delayMs` first, then answer `abortStatus` if set. */
export interface FaultDecision {
  readonly delayMs: number;
  readonly abortStatus: number | undefined;
}

const NO_FAULT: FaultDecision = Object.freeze({ delayMs: 0, abortStatus: undefined });

/** True with the given probability in percent (0–100). 0 and 100 need no random draw. */
function happens(percentage: number, random: () => number): boolean {
  if (percentage <= 0) return false;
  if (percentage >= 100) return true;
  return random() * 100 < percentage;
}

/**
 * Draws the delay and the abort independently (delay first), each with its own percentage.
 * A request with neither gets a shared frozen "no fault" answer, so the common case allocates nothing.
 */
export function decideFault(fault: Fault | undefined, random: () => number = Math.random): FaultDecision {
  if (fault === undefined) return NO_FAULT;
  const delay = fault.delay;
  const abort = fault.abort;
  const delayMs = delay !== undefined && happens(delay.percentage, random) ? delay.fixedDelayMs : 0;
  const abortStatus = abort !== undefined && happens(abort.percentage, random) ? abort.httpStatus : undefined;
  if (delayMs === 0 && abortStatus === undefined) return NO_FAULT;
  return { delayMs, abortStatus };
}

/** Whether to send a shadow copy of this request to the mirror cluster (percentage 0–100). */
export function decideMirror(
  mirror: { cluster: string; percentage: number } | undefined,
  random: () => number = Math.random,
): boolean {
  return mirror !== undefined && happens(mirror.percentage, random);
}

function abortReply(status: number): FilterResult {
  return { status, flag: ResponseFlags.FAULT_ABORT, body: 'fault filter abort\n' };
}

export const faultFilter: HttpFilter = {
  name: 'fault',
  onRequest(stream: Stream): FilterResult | Promise<FilterResult> {
    const fault = stream.route?.fault;
    if (fault === undefined) return undefined;
    const decision = decideFault(fault);
    if (decision.delayMs > 0) {
      stream.faultDelayed = true;
      return new Promise((resolve) =>
        setTimeout(
          () => resolve(decision.abortStatus === undefined ? undefined : abortReply(decision.abortStatus)),
          decision.delayMs,
        ),
      );
    }
    return decision.abortStatus === undefined ? undefined : abortReply(decision.abortStatus);
  },
};
