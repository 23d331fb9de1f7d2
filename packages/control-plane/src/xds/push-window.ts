// The push window (istiod's PILOT_PUSH_THROTTLE): at most `limit` writes to proxies in flight at once; the
// others wait in a queue, proxies without any config from their stream yet ahead of updates. A proxy queued
// twice keeps one place and the earliest change; what it is sent is decided when its turn comes, so a queued
// proxy always gets its latest config.

/** One proxy's place in the queue. */
export interface QueuedPush {
  /** The earliest change the push carries (ms since epoch). */
  changeAt: number;
  /** When the proxy joined the queue (ms since epoch). */
  queuedAt: number;
}

export interface PushWindowOptions<T> {
  limit: number;
  /**
   * Sends to one proxy whose turn it is. A promise holds a slot until it settles (the write reached the
   * kernel); undefined means nothing was written and no slot is used.
   */
  send: (item: T, push: QueuedPush) => Promise<void> | undefined;
  /** Called (on a later turn of the event loop) when nothing is queued or in flight any more. */
  onDrained: () => void;
}

export class PushWindow<T> {
  readonly #o: PushWindowOptions<T>;
  /** Proxies waiting for their first config on this stream, in order. */
  readonly #first = new Map<T, QueuedPush>();
  /** Proxies waiting for an update, in order. */
  readonly #updates = new Map<T, QueuedPush>();
  #inFlight = 0;
  #pumpScheduled = false;
  #drainCheckScheduled = false;
  #closed = false;

  constructor(options: PushWindowOptions<T>) {
    this.#o = options;
  }

  /** Proxies queued or being written to. */
  get busy(): boolean {
    return this.#inFlight > 0 || this.#first.size + this.#updates.size > 0;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#first.size + this.#updates.size;
  }

  /** Queues a push to `item` (`first`: it has no config from its stream yet) and sends while slots are free. */
  enqueue(item: T, changeAt: number, first: boolean): void {
    if (this.#closed) return;
    const queued = this.#first.get(item) ?? this.#updates.get(item);
    if (queued) queued.changeAt = Math.min(queued.changeAt, changeAt);
    else (first ? this.#first : this.#updates).set(item, { changeAt, queuedAt: Date.now() });
    this.#pump();
  }

  /** Takes a proxy out of the queue (its stream closed). */
  remove(item: T): void {
    this.#first.delete(item);
    this.#updates.delete(item);
    this.#checkDrained();
  }

  close(): void {
    this.#closed = true;
    this.#first.clear();
    this.#updates.clear();
  }

  #pump(): void {
    const limit = Math.max(1, this.#o.limit);
    for (const queue of [this.#first, this.#updates])
      for (const [item, push] of queue) {
        if (this.#inFlight >= limit || this.#closed) return;
        queue.delete(item);
        const written = this.#o.send(item, push);
        if (!written) continue;
        this.#inFlight++;
        const release = () => {
          this.#inFlight--;
          this.#schedulePump();
        };
        written.then(release, release);
      }
    this.#checkDrained();
  }

  /** Refills freed slots on a later turn, so a burst of finished writes costs one pass over the queue. */
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      if (!this.#closed) this.#pump();
    });
  }

  #checkDrained(): void {
    if (this.busy || this.#closed || this.#drainCheckScheduled) return;
    this.#drainCheckScheduled = true;
    setImmediate(() => {
      this.#drainCheckScheduled = false;
      if (!this.busy && !this.#closed) this.#o.onDrained();
    });
  }
}
