// The HTTP filter contract: each filter looks at a routed request and lets it go on or answers it locally;
// filters know nothing of each other, run in a fixed order, and the router is the terminal one.
import type { Stream } from '../listener/stream.ts';
import type { LocalReply } from '../router/local-reply.ts';

/** undefined lets the request go on; a reply answers it here. */
export type FilterResult = LocalReply | undefined;

export interface HttpFilter {
  readonly name: string;
  /** Decides on the request now, or later (a promise: a fault's delay, a policy lookup). */
  onRequest(stream: Stream): FilterResult | Promise<FilterResult>;
  /** Edits the response's fields ([name, value, ...]) before they go downstream. */
  onResponseHead?(stream: Stream, raw: string[]): void;
}
