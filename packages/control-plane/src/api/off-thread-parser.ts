// Parses resource-API bodies on one worker thread with a time and memory budget. A body that takes longer
// than the budget (or runs the worker out of its heap) is refused with STRAIT_CONFIG_TOO_COMPLEX and the
// worker is replaced; the event loop that serves discovery and readiness is never held.
import { Worker } from 'node:worker_threads';
import { Errors, errorSpecOf, StraitError } from '@strait/api';
import type { ParsedDocuments } from './documents.ts';
import type { ParseJob, ParseReply } from './parse-worker.ts';

export interface OffThreadParserOptions {
  /** How long one body may take to parse. */
  budgetMs: number;
  /** The worker's old-generation heap, in MB. */
  heapMb: number;
}

interface Pending {
  job: ParseJob;
  resolve: (value: ParsedDocuments) => void;
  reject: (err: Error) => void;
}

export class OffThreadParser {
  readonly #options: OffThreadParserOptions;
  #worker: Worker | undefined;
  /** The worker has loaded its modules and said so. */
  #ready = false;
  readonly #queue: Pending[] = [];
  #current: Pending | undefined;
  #timer: NodeJS.Timeout | undefined;
  #nextId = 1;

  constructor(options: OffThreadParserOptions = { budgetMs: 5000, heapMb: 256 }) {
    this.#options = options;
  }

  /** The documents of a request body, parsed on the worker (jobs run one at a time, in order). */
  parse(text: string, source: string): Promise<ParsedDocuments> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ job: { id: this.#nextId++, text, source }, resolve, reject });
      this.#next();
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    if (worker) await worker.terminate();
  }

  #next(): void {
    if (this.#current || this.#queue.length === 0) return;
    const worker = this.#ensureWorker();
    if (!this.#ready) return; // #next runs again when the worker says it is ready
    const pending = this.#queue.shift() as Pending;
    this.#current = pending;
    this.#timer = setTimeout(
      () => this.#fail(`took longer than ${this.#options.budgetMs} ms to parse`),
      this.#options.budgetMs,
    );
    worker.postMessage(pending.job);
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./parse-worker.ts', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.#options.heapMb },
    });
    worker.unref();
    worker.on('message', (reply: ParseReply) => {
      if ('ready' in reply) {
        this.#ready = true;
        this.#next();
      } else this.#settle(reply);
    });
    worker.on('error', (err) => this.#fail(`the parser failed: ${err.message}`));
    worker.on('exit', () => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#ready = false;
    });
    this.#worker = worker;
    this.#ready = false;
    return worker;
  }

  #settle(reply: Exclude<ParseReply, { ready: true }>): void {
    const pending = this.#current;
    if (!pending || pending.job.id !== reply.id) return;
    this.#done();
    if (reply.ok) pending.resolve(reply.result);
    else pending.reject(new StraitError(errorSpecOf(reply.code) ?? Errors.BAD_REQUEST, reply.detail));
    this.#next();
  }

  /** The job in hand failed (too slow, or the worker died): refuse it and start a fresh worker. */
  #fail(why: string): void {
    const pending = this.#current;
    const worker = this.#worker;
    this.#worker = undefined;
    this.#ready = false;
    void worker?.terminate();
    if (!pending) {
      // The worker failed before it could take a job: refuse what waits rather than restart in a loop.
      for (const waiting of this.#queue.splice(0))
        waiting.reject(new StraitError(Errors.CONFIG_TOO_COMPLEX, `${waiting.job.source}: ${why}`));
      return;
    }
    this.#done();
    pending.reject(new StraitError(Errors.CONFIG_TOO_COMPLEX, `${pending.job.source}: ${why}`));
    this.#next();
  }

  #done(): void {
    this.#current = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
