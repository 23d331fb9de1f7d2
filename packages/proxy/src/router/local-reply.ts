// Every answer the proxy makes itself goes through here: a status from the error catalogue (or a fault's
// or direct response's own), Envoy's response flag, a short text body, and the stream finished with both.
import type { ErrorSpec } from '@strait/api';
import { fieldOf } from '../codec/headers.ts';
import type { Stream } from '../listener/stream.ts';

export interface LocalReply {
  status: number;
  /** Envoy's response flag, "-" for none. */
  flag: string;
  body: string;
  /** More response fields, [name, value, ...]. */
  headers?: string[];
}

/** A catalogue entry's reply: its status, the flag, and its message (or `body`) as the text. */
export function replyFor(spec: ErrorSpec, flag: string, body?: string): LocalReply {
  return { status: spec.status, flag, body: body ?? `${spec.message}\n` };
}

/** Answers the stream's request locally; a response already under way can only be cut. */
export function sendLocalReply(stream: Stream, reply: LocalReply): void {
  const exchange = stream.exchange;
  if (!exchange.headSent) {
    const body = Buffer.from(reply.body, 'utf8');
    const extra = reply.headers;
    const fields = !extra ? TEXT : fieldOf(extra, 'content-type') ? extra : [...TEXT, ...extra];
    exchange.head(reply.status, '', fields, body.length);
    exchange.write(body);
    exchange.end();
  } else exchange.abort();
  stream.finish(reply.status, reply.flag);
}

const TEXT = ['content-type', 'text/plain'];
