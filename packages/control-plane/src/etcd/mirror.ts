// Follows everything Strait keeps in etcd, as Kubernetes' informers do: list the prefix at a revision, watch
// from the next one, hand each batch of events to the part that owns those keys. A broken watch resumes
// from the last revision seen (on another member if need be); a compacted one lists again.
import type { Logger } from 'pino';
import { type EtcdClient, EtcdCompactedError, type KeyValue, prefixEnd, type WatchEvent } from './client.ts';

/** A part of the control plane that keeps a view of the keys under one prefix. */
export interface MirrorHandler {
  readonly prefix: string;
  /** Everything under the prefix as of `revision` (a list): the view is replaced. */
  onList(kvs: readonly KeyValue[], revision: number): void;
  /** Changes under the prefix, in revision order (one watch message). */
  onEvents(events: readonly WatchEvent[]): void;
}

export interface MirrorOptions {
  client: EtcdClient;
  /** Everything under it is followed, e.g. `/strait/`. */
  prefix: string;
  logger: Logger;
  /** Wait before resuming a broken watch (jittered up to twice this). Default 200 ms. */
  retryMs?: number;
  /** Called after each list that follows a compacted watch. */
  onRelist?: () => void;
}

export type MirrorState = 'listing' | 'watching' | 'broken' | 'stopped';

export class EtcdMirror {
  readonly #o: MirrorOptions;
  readonly #handlers: MirrorHandler[] = [];
  #state: MirrorState = 'listing';
  /** Every change up to this revision has been handed out. */
  #revision = 0;
  #relists = 0;
  #lastError: string | undefined;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: MirrorOptions) {
    this.#o = options;
  }

  /** Adds a part to hand changes to (before start). */
  subscribe(handler: MirrorHandler): void {
    this.#handlers.push(handler);
  }

  get state(): MirrorState {
    return this.#state;
  }

  /** The revision everything has been handed out up to. */
  get revision(): number {
    return this.#revision;
  }

  /** Lists after the first (after a compaction). */
  get relists(): number {
    return this.#relists;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** The first list (throws if etcd cannot answer it), then the watch, in the background. */
  async start(): Promise<void> {
    await this.#list();
    this.#loop = this.#watchLoop();
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    this.#abort.abort();
    await this.#loop;
  }

  async #list(): Promise<void> {
    this.#state = 'listing';
    const { kvs, header } = await this.#o.client.range(this.#o.prefix, prefixEnd(this.#o.prefix));
    for (const handler of this.#handlers)
      handler.onList(
        kvs.filter((kv) => kv.key.startsWith(handler.prefix)),
        header.revision,
      );
    this.#revision = header.revision;
  }

  async #watchLoop(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        for await (const message of this.#o.client.watch(
          this.#o.prefix,
          prefixEnd(this.#o.prefix),
          this.#revision + 1,
          signal,
        )) {
          if (message.compactRevision > 0)
            throw new EtcdCompactedError(`compacted at ${message.compactRevision}`);
          if (message.canceled)
            throw new Error(`etcd cancelled the watch: ${message.cancelReason || 'no reason given'}`);
          if (message.created) {
            this.#state = 'watching';
            this.#lastError = undefined;
            failures = 0;
          }
          if (message.events.length > 0) this.#handOut(message.events);
        }
        if (!signal.aborted) throw new Error('etcd ended the watch');
      } catch (err) {
        if (signal.aborted) break;
        this.#state = 'broken';
        this.#lastError = (err as Error).message;
        if (err instanceof EtcdCompactedError) {
          this.#o.logger.warn(
            { revision: this.#revision, err: this.#lastError },
            'etcd watch compacted; listing again',
          );
          try {
            await this.#list();
            this.#relists++;
            this.#o.onRelist?.();
            continue;
          } catch (listErr) {
            this.#lastError = (listErr as Error).message;
          }
        } else if (failures === 0)
          this.#o.logger.warn(
            { revision: this.#revision, err: this.#lastError },
            'etcd watch broken; resuming',
          );
        failures++;
        await sleep(jitter(this.#o.retryMs ?? 200, failures), signal);
      }
    }
    this.#state = 'stopped';
  }

  /** Hands one message's events to the parts that own their keys, and moves the revision on. */
  #handOut(events: readonly WatchEvent[]): void {
    for (const handler of this.#handlers) {
      const mine = events.filter((e) => e.kv.key.startsWith(handler.prefix));
      if (mine.length > 0) handler.onEvents(mine);
    }
    const last = events.at(-1);
    if (last) this.#revision = Math.max(this.#revision, last.kv.modRevision);
  }
}

/**
 * The events a view has not applied yet: those after revision `known` (what it last listed, committed itself
 * or was handed). Every event of one transaction, or of one lease's expiry, shares a revision, so the check is
 * against what was known before the batch, never against the batch's own events.
 */
export function unseen(events: readonly WatchEvent[], known: number): WatchEvent[] {
  return events.filter((e) => e.kv.modRevision > known);
}

/** The newest revision among `events`, or `known` when it is newer. */
export function newestRevision(events: readonly WatchEvent[], known: number): number {
  return events.reduce((newest, e) => Math.max(newest, e.kv.modRevision), known);
}

/** Grows with each failure in a row up to 10×, with full jitter. */
function jitter(baseMs: number, failures: number): number {
  return baseMs * Math.min(10, failures) * (0.5 + Math.random());
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
