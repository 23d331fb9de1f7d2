// Runs a listener's HTTP filters in order, then the terminal router. Filters that answer synchronously
// cost no promise; one that needs time (a delay) resumes the chain where it stopped.
import { Errors } from '@strait/api';
import type { Stream } from '../listener/stream.ts';
import { replyFor, sendLocalReply } from '../router/local-reply.ts';
import type { FilterResult, HttpFilter } from './types.ts';

export class FilterChain {
  readonly #filters: readonly HttpFilter[];
  readonly #responseFilters: readonly HttpFilter[];
  readonly #terminal: (stream: Stream) => void;

  constructor(filters: readonly HttpFilter[], terminal: (stream: Stream) => void) {
    this.#filters = filters;
    // Response hooks run in reverse order, as Envoy's encoder filters do.
    this.#responseFilters = filters.filter((f) => f.onResponseHead !== undefined).reverse();
    this.#terminal = terminal;
  }

  run(stream: Stream): void {
    this.#from(stream, 0);
  }

  /** Lets every filter with a response hook edit the response's fields. */
  onResponseHead(stream: Stream, raw: string[]): void {
    for (const filter of this.#responseFilters) filter.onResponseHead?.(stream, raw);
  }

  #from(stream: Stream, first: number): void {
    const filters = this.#filters;
    for (let i = first; i < filters.length; i++) {
      const result = (filters[i] as HttpFilter).onRequest(stream);
      if (result === undefined) continue;
      if (result instanceof Promise) {
        result.then(
          (later) => this.#resume(stream, later, i + 1),
          (err: unknown) => {
            stream.ctx.logger.error({ err, filter: filters[i]?.name }, 'filter failed');
            if (!stream.finished) sendLocalReply(stream, replyFor(Errors.INTERNAL, '-'));
          },
        );
        return;
      }
      sendLocalReply(stream, result);
      return;
    }
    this.#terminal(stream);
  }

  #resume(stream: Stream, result: FilterResult, next: number): void {
    if (stream.finished) return; // the client went away while the filter waited
    if (result) sendLocalReply(stream, result);
    else this.#from(stream, next);
  }
}
