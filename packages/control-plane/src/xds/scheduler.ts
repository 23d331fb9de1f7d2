// When a push starts: a small state machine over debounce, warm-up and the push window. Changes are merged
// while they keep coming (debounce, bounded by a maximum wait), held while the control plane warms up after
// a restart, and a push that is due waits until the previous push has left the push window.
//
//   idle ──change──> debouncing ──quiet (or max wait)──> push ──> idle
//                       │  └─────────── window busy ──────> waiting ──window drained──> push
//                       └──hold──> held ──warm-up over──> push (or waiting)
//   any ──close──> closed

/** Why a push was triggered, with istiod's names (pilot_push_triggers{type}). */
export type PushTrigger = 'config' | 'endpoint' | 'proxy';

/** The changes one push carries. */
export interface PendingPush {
  /** The earliest change it carries (ms since epoch), for convergence times. */
  changeAt: number;
  /** When the first of its changes reached the scheduler, for the debounce time. */
  firstSeenAt: number;
  /** How many changes of each kind were merged into it. */
  triggers: Partial<Record<PushTrigger, number>>;
}

export type SchedulerState = 'idle' | 'debouncing' | 'held' | 'waiting' | 'closed';

/** Time and timers, injectable so that tests drive them. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface PushSchedulerOptions {
  /** A push waits for this long without a new change. */
  debounceMs: number;
  /** ... but never longer than this after the first change it carries. */
  debounceMaxMs: number;
  /** True while the previous push still has proxies queued or writes in flight. */
  windowBusy: () => boolean;
  /** Starts a push. */
  push: (pending: PendingPush) => void;
  clock?: Clock;
}

export class PushScheduler {
  readonly #o: PushSchedulerOptions;
  readonly #clock: Clock;
  #state: SchedulerState = 'idle';
  #pending: PendingPush | undefined;
  #timer: unknown;
  /** No push starts before this time (the end of the warm-up). */
  #holdUntil = 0;

  constructor(options: PushSchedulerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  get state(): SchedulerState {
    return this.#state;
  }

  /** The changes the next push will carry, if any are waiting. */
  get pending(): Readonly<PendingPush> | undefined {
    return this.#pending;
  }

  /** A change that needs a push. */
  change(at: number, trigger: PushTrigger): void {
    if (this.#state === 'closed') return;
    const now = this.#clock.now();
    const pending = this.#pending ?? { changeAt: at, firstSeenAt: now, triggers: {} };
    pending.changeAt = Math.min(pending.changeAt, at);
    pending.triggers[trigger] = (pending.triggers[trigger] ?? 0) + 1;
    this.#pending = pending;
    // Waiting and held already have a time to push; a change only joins them.
    if (this.#state === 'idle' || this.#state === 'debouncing') this.#arm();
  }

  /** Holds pushes until `until` (after a restart, while proxies come back). */
  holdUntil(until: number): void {
    if (this.#state === 'closed') return;
    this.#holdUntil = Math.max(this.#holdUntil, until);
    if (this.#state === 'debouncing') this.#arm();
  }

  /** The push window has no proxy queued and no write in flight. */
  windowDrained(): void {
    if (this.#state === 'waiting') this.#fire();
  }

  close(): void {
    this.#clearTimer();
    this.#state = 'closed';
    this.#pending = undefined;
  }

  /** (Re)arms the timer: quiet for debounceMs, at most debounceMaxMs, never before the hold ends. */
  #arm(): void {
    const pending = this.#pending as PendingPush;
    const now = this.#clock.now();
    const quietAt = Math.min(now + this.#o.debounceMs, pending.firstSeenAt + this.#o.debounceMaxMs);
    const held = this.#holdUntil > quietAt;
    const at = held ? this.#holdUntil : quietAt;
    this.#state = held ? 'held' : 'debouncing';
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(() => this.#due(), Math.max(0, at - now));
  }

  #due(): void {
    this.#timer = undefined;
    if (this.#state !== 'debouncing' && this.#state !== 'held') return;
    // While the last push is still in the window, the window already sends each proxy its latest config;
    // the next push starts when every queued proxy has had its turn (natural backpressure).
    if (this.#o.windowBusy()) this.#state = 'waiting';
    else this.#fire();
  }

  #fire(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    this.#state = 'idle';
    if (pending) this.#o.push(pending);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
