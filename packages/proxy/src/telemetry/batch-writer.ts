// Writes text lines to a file descriptor in batches: lines are encoded into fixed-size buffers and
// written with one writev per batch, off the main thread, so a busy proxy makes a few writes a second
// instead of one per request. A destination that cannot keep up costs dropped lines, never memory or stalls.
import { closeSync, writev } from 'node:fs';

/** Anything with a write(string) method, e.g. a Writable stream (written to directly, unbatched). */
export interface LineSink {
  write(chunk: string): unknown;
}

export interface BatchWriterOptions {
  /** A file descriptor (written in batches), or a sink that gets each line as it comes. */
  destination: number | LineSink;
  /** Longest a line waits before its batch is written, ms. Default 100. */
  flushIntervalMs?: number;
  /** Size of one batch buffer; a full buffer is written at once. Default 64 KiB. */
  batchBytes?: number;
  /** Bytes that may wait for the destination; lines beyond it are dropped. Default 8 MiB. */
  maxPendingBytes?: number;
  /**
   * Other processes write to the same pipe (--workers): every write is whole lines and at most this many
   * bytes (PIPE_BUF, 4096 on Linux, so the kernel never interleaves it with theirs). Longer lines are dropped.
   */
  atomicWriteBytes?: number;
}

/** How long to wait before retrying a destination that said "try again" (a full non-blocking pipe). */
const RETRY_MS = 10;

export class BatchWriter {
  readonly #fd: number | undefined;
  readonly #sink: LineSink | undefined;
  readonly #intervalMs: number;
  readonly #batchBytes: number;
  readonly #maxPending: number;
  readonly #atomicBytes: number | undefined;
  /** The batch being filled, and how many of its bytes are used. */
  #current: Buffer | undefined;
  #used = 0;
  /** Full batches (or slices of them) waiting for the destination, oldest first. */
  #queue: Buffer[] = [];
  #pendingBytes = 0;
  #writing = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #waiters: (() => void)[] = [];
  dropped = 0;

  constructor(opts: BatchWriterOptions) {
    if (typeof opts.destination === 'number') this.#fd = opts.destination;
    else this.#sink = opts.destination;
    this.#intervalMs = opts.flushIntervalMs ?? 100;
    this.#atomicBytes = opts.atomicWriteBytes;
    this.#batchBytes = Math.min(opts.batchBytes ?? 64 * 1024, this.#atomicBytes ?? Number.POSITIVE_INFINITY);
    this.#maxPending = opts.maxPendingBytes ?? 8 * 1024 * 1024;
  }

  /** Queues a line (which should end in "\n"). */
  write(line: string): void {
    if (this.#closed) return;
    if (this.#sink) {
      this.#sink.write(line);
      return;
    }
    const bytes = Buffer.byteLength(line);
    if (this.#pendingBytes + this.#used + bytes > this.#maxPending) {
      this.dropped++;
      return;
    }
    if (bytes > this.#batchBytes) {
      if (this.#atomicBytes !== undefined) {
        // Written alone it could be split and interleaved with another process's lines.
        this.dropped++;
        return;
      }
      this.#seal();
      this.#enqueue(Buffer.from(line));
      this.#startWrite();
      return;
    }
    if (this.#current !== undefined && this.#used + bytes > this.#batchBytes) {
      this.#seal();
      this.#startWrite();
    }
    if (this.#current === undefined) {
      // Not from Buffer's shared pool: a batch may wait a while and must not pin other small buffers.
      this.#current = Buffer.allocUnsafeSlow(this.#batchBytes);
      this.#used = 0;
    }
    this.#used += this.#current.write(line, this.#used);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#onTimer, this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Resolves once every line written so far has reached the destination (or was dropped). */
  flush(): Promise<void> {
    if (this.#sink) return Promise.resolve();
    this.#seal();
    if (!this.#writing && this.#queue.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#startWrite();
    return done;
  }

  /** Flushes, stops taking lines, and closes the descriptor unless it is stdout or stderr. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const fd = this.#fd;
    if (fd !== undefined && fd > 2) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    this.#seal();
    this.#startWrite();
  };

  /** Moves the batch being filled to the queue. */
  #seal(): void {
    const current = this.#current;
    if (current === undefined || this.#used === 0) return;
    this.#enqueue(current.subarray(0, this.#used));
    this.#current = undefined;
    this.#used = 0;
  }

  #enqueue(buffer: Buffer): void {
    this.#queue.push(buffer);
    this.#pendingBytes += buffer.length;
  }

  #startWrite(): void {
    if (this.#writing || this.#fd === undefined) return;
    if (this.#queue.length === 0) {
      this.#settle();
      return;
    }
    this.#writing = true;
    const batch = this.#takeBatch();
    writev(this.#fd, batch, (err, written) => this.#afterWrite(batch, err, written));
  }

  #afterWrite(batch: Buffer[], err: NodeJS.ErrnoException | null, written: number): void {
    this.#writing = false;
    if (err && err.code !== 'EAGAIN') {
      // A broken destination (closed pipe, full disk): these lines are lost, later ones are still tried.
      for (const buffer of batch) this.#pendingBytes -= buffer.length;
      this.dropped += countLines(batch);
    } else {
      const done = err ? 0 : written;
      this.#pendingBytes -= done;
      const rest = remainder(batch, done);
      if (rest.length > 0) {
        // A short write or EAGAIN: what is left goes first, after a pause if the destination was full.
        this.#queue = rest.concat(this.#queue);
        if (err) {
          this.#writing = true;
          setTimeout(() => {
            this.#writing = false;
            this.#startWrite();
          }, RETRY_MS).unref();
          return;
        }
      }
    }
    if (this.#queue.length > 0) this.#startWrite();
    else this.#settle();
  }

  /** The queued buffers for one writev: all of them, or as many as fit in one atomic write. */
  #takeBatch(): Buffer[] {
    const limit = this.#atomicBytes;
    if (limit === undefined) {
      const batch = this.#queue;
      this.#queue = [];
      return batch;
    }
    // Each queued buffer holds whole lines and is at most batchBytes <= limit, so at least one fits.
    let count = 0;
    let bytes = 0;
    for (const buffer of this.#queue) {
      if (count > 0 && bytes + buffer.length > limit) break;
      bytes += buffer.length;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  /** Nothing queued and nothing in flight: tells flush() callers. */
  #settle(): void {
    if (this.#writing || this.#queue.length > 0 || this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** The unwritten part of a batch after `written` bytes went out. */
function remainder(batch: Buffer[], written: number): Buffer[] {
  let skip = written;
  let i = 0;
  while (i < batch.length && skip >= (batch[i] as Buffer).length) {
    skip -= (batch[i] as Buffer).length;
    i++;
  }
  if (i >= batch.length) return [];
  const rest = batch.slice(i);
  rest[0] = (rest[0] as Buffer).subarray(skip);
  return rest;
}

function countLines(batch: Buffer[]): number {
  let lines = 0;
  for (const buffer of batch)
    for (let at = buffer.indexOf(10); at >= 0; at = buffer.indexOf(10, at + 1)) lines++;
  return lines;
}
