// The push scheduler, one test per transition of its state machine, on a manual clock.
import { describe, expect, it } from 'vitest';
import { type Clock, type PendingPush, PushScheduler } from './scheduler.ts';

/** A clock whose time moves only when a test says so. */
class ManualClock implements Clock {
  time = 1_000;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.time + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
  }

  get armed(): number {
    return this.#timers.size;
  }
}

function setup(busy = false) {
  const clock = new ManualClock();
  const pushes: PendingPush[] = [];
  const window = { busy };
  const scheduler = new PushScheduler({
    debounceMs: 100,
    debounceMaxMs: 1000,
    windowBusy: () => window.busy,
    push: (p) => pushes.push(p),
    clock,
  });
  return { clock, pushes, window, scheduler };
}

describe('PushScheduler', () => {
  it('idle → debouncing on a change; nothing is pushed before the quiet period', () => {
    const { clock, pushes, scheduler } = setup();
    expect(scheduler.state).toBe('idle');
    scheduler.change(clock.now(), 'config');
    expect(scheduler.state).toBe('debouncing');
    clock.advance(99);
    expect(pushes).toEqual([]);
  });

  it('debouncing → debouncing on another change: the quiet period starts again and the changes merge', () => {
    const { clock, pushes, scheduler } = setup();
    const first = clock.now();
    scheduler.change(first, 'config');
    clock.advance(80);
    scheduler.change(clock.now(), 'endpoint');
    expect(scheduler.state).toBe('debouncing');
    clock.advance(80);
    expect(pushes).toEqual([]);
    clock.advance(20);
    expect(pushes).toEqual([{ changeAt: first, firstSeenAt: first, triggers: { config: 1, endpoint: 1 } }]);
  });

  it('debouncing → idle with a push once quiet, or at the maximum wait under a storm of changes', () => {
    const { clock, pushes, scheduler } = setup();
    const start = clock.now();
    for (let i = 0; i < 30; i++) {
      scheduler.change(clock.now(), 'endpoint');
      clock.advance(50);
    }
    // 30 changes 50 ms apart never leave 100 ms of quiet: the push goes at 1000 ms after the first.
    expect(pushes).toHaveLength(1);
    expect(pushes[0]?.triggers).toEqual({ endpoint: 20 });
    expect(pushes[0]?.firstSeenAt).toBe(start);
    expect(scheduler.state).toBe('debouncing');
    clock.advance(100);
    expect(pushes).toHaveLength(2);
    expect(scheduler.state).toBe('idle');
  });

  it('debouncing → waiting when the quiet period ends while the push window is busy', () => {
    const { clock, pushes, scheduler } = setup(true);
    scheduler.change(clock.now(), 'config');
    clock.advance(100);
    expect(scheduler.state).toBe('waiting');
    expect(pushes).toEqual([]);
  });

  it('waiting → waiting on a change: it joins the push that is due', () => {
    const { clock, pushes, scheduler } = setup(true);
    const first = clock.now();
    scheduler.change(first, 'config');
    clock.advance(100);
    scheduler.change(clock.now(), 'endpoint');
    expect(scheduler.state).toBe('waiting');
    expect(clock.armed).toBe(0);
    expect(pushes).toEqual([]);
    expect(scheduler.pending).toMatchObject({ changeAt: first, triggers: { config: 1, endpoint: 1 } });
  });

  it('waiting → idle with a push when the window drains', () => {
    const { clock, pushes, window, scheduler } = setup(true);
    scheduler.change(clock.now(), 'config');
    clock.advance(100);
    window.busy = false;
    scheduler.windowDrained();
    expect(pushes).toHaveLength(1);
    expect(scheduler.state).toBe('idle');
  });

  it('idle, debouncing and held ignore a drained window', () => {
    const { clock, pushes, scheduler } = setup();
    scheduler.windowDrained();
    expect(scheduler.state).toBe('idle');
    scheduler.change(clock.now(), 'config');
    scheduler.windowDrained();
    expect(scheduler.state).toBe('debouncing');
    scheduler.holdUntil(clock.now() + 500);
    scheduler.windowDrained();
    expect(scheduler.state).toBe('held');
    expect(pushes).toEqual([]);
  });

  it('debouncing → held when a warm-up hold outlasts the quiet period', () => {
    const { clock, pushes, scheduler } = setup();
    scheduler.change(clock.now(), 'proxy');
    scheduler.holdUntil(clock.now() + 600);
    expect(scheduler.state).toBe('held');
    clock.advance(500);
    expect(pushes).toEqual([]);
  });

  it('idle with a hold: the next change is held until the hold ends', () => {
    const { clock, pushes, scheduler } = setup();
    scheduler.holdUntil(clock.now() + 600);
    expect(scheduler.state).toBe('idle');
    scheduler.change(clock.now(), 'proxy');
    expect(scheduler.state).toBe('held');
    clock.advance(599);
    expect(pushes).toEqual([]);
  });

  it('held → held on a change; held → idle with one push carrying everything when the hold ends', () => {
    const { clock, pushes, scheduler } = setup();
    scheduler.holdUntil(clock.now() + 600);
    scheduler.change(clock.now(), 'proxy');
    clock.advance(300);
    scheduler.change(clock.now(), 'endpoint');
    expect(scheduler.state).toBe('held');
    clock.advance(300);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]?.triggers).toEqual({ proxy: 1, endpoint: 1 });
    expect(scheduler.state).toBe('idle');
  });

  it('held → waiting when the hold ends while the window is busy', () => {
    const { clock, pushes, scheduler } = setup(true);
    scheduler.holdUntil(clock.now() + 600);
    scheduler.change(clock.now(), 'proxy');
    clock.advance(600);
    expect(scheduler.state).toBe('waiting');
    expect(pushes).toEqual([]);
  });

  it('a hold that ends before the quiet period changes nothing', () => {
    const { clock, pushes, scheduler } = setup();
    scheduler.change(clock.now(), 'config');
    scheduler.holdUntil(clock.now() + 50);
    expect(scheduler.state).toBe('debouncing');
    clock.advance(100);
    expect(pushes).toHaveLength(1);
  });

  it('any state → closed: timers stop and later events are ignored', () => {
    for (const busy of [false, true]) {
      const { clock, pushes, window, scheduler } = setup(busy);
      scheduler.change(clock.now(), 'config');
      if (busy) clock.advance(100);
      scheduler.close();
      expect(scheduler.state).toBe('closed');
      window.busy = false;
      scheduler.windowDrained();
      scheduler.change(clock.now(), 'config');
      scheduler.holdUntil(clock.now() + 10);
      clock.advance(5000);
      expect(pushes).toEqual([]);
      expect(scheduler.state).toBe('closed');
    }
  });
});
