// One connection to an upstream endpoint: writes a request head (its body streams after it), parses the
// response with the strict llhttp parser, and says whether the connection may carry another request.
import type { Socket } from 'node:net';
import { fieldOf, headLines } from '../codec/headers.ts';
import { HeadVerdict, isParseError, Llhttp, type ParsedHead, type ParseError } from '../codec/llhttp.ts';

/** Why an exchange with an upstream failed, in Envoy's retry-on vocabulary. */
export type UpstreamFailure = 'connect-failure' | 'reset' | 'timeout';

/** What a response's owner is told. */
export interface ResponseHandler {
  /** The response head; `length` is its Content-Length, undefined when chunked or close-delimited. */
  onHead(status: number, reason: string, raw: string[], length: number | undefined): void;
  /** Returns false when the owner is full: the connection stops reading until `resume()`. */
  onData(chunk: Buffer): boolean;
  onEnd(trailers: string[]): void;
  /** The connection failed before the response ended. `beforeResponse`: no response byte had arrived. */
  onError(failure: UpstreamFailure, beforeResponse: boolean, err: Error): void;
}

/** The request line and fields to send; `length` undefined with a body means chunked. */
export interface RequestHead {
  method: string;
  /** Origin-form path and query, or an absolute URL for a forward proxy upstream. */
  path: string;
  raw: readonly string[];
  hasBody: boolean;
  length: number | undefined;
}

/** Response heads above this size fail the response (Envoy's default limit is 60 KiB too). */
const MAX_RESPONSE_HEAD_BYTES = 60 * 1024;

export class UpstreamConnection {
  readonly socket: Socket;
  /** Requests sent on this connection; above 1 it was reused. */
  requests = 0;
  /** When it last went idle (epoch ms), for the pool's eviction. */
  idleSince = 0;
  readonly #parser: Llhttp;
  #handler: ResponseHandler | undefined;
  #method = '';
  #chunked = false;
  #responded = false;
  #reusable = true;
  #closed = false;
  #paused = false;
  /** A response that ended during the read being parsed: told once that read is all parsed. */
  #ended: { handler: ResponseHandler | undefined; trailers: string[] } | undefined;
  /** A response began with no request outstanding: the connection is out of step. */
  #unsolicited = false;
  readonly #onDone: (connection: UpstreamConnection, reusable: boolean) => void;

  constructor(socket: Socket, onDone: (connection: UpstreamConnection, reusable: boolean) => void) {
    this.socket = socket;
    this.#onDone = onDone;
    this.#parser = new Llhttp('response', MAX_RESPONSE_HEAD_BYTES, {
      onHead: this.#onHead,
      onBody: this.#onBody,
      onComplete: this.#onComplete,
    });
    socket.setNoDelay(true);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get busy(): boolean {
    return this.#handler !== undefined;
  }

  /**
   * Sends a request head. With a body, `writeBody` and `endBody` follow; the head leaves with the first
   * body bytes in one write when they come in the same tick.
   */
  send(head: RequestHead, handler: ResponseHandler): void {
    this.requests++;
    this.#handler = handler;
    this.#method = head.method;
    this.#responded = false;
    this.#chunked = head.hasBody && head.length === undefined;
    let framing = '';
    if (head.length !== undefined && (head.hasBody || head.length > 0))
      framing = `content-length: ${head.length}\r\n`;
    else if (this.#chunked) framing = 'transfer-encoding: chunked\r\n';
    this.socket.cork();
    this.socket.write(
      `${head.method} ${head.path} HTTP/1.1\r\n${headLines(head.raw)}${framing}\r\n`,
      'latin1',
    );
    process.nextTick(uncork, this.socket);
  }

  /** Streams a request body chunk; false when the socket is full (wait for its 'drain'). */
  writeBody(chunk: Buffer): boolean {
    if (this.#closed) return true;
    if (!this.#chunked) return this.socket.write(chunk);
    this.socket.cork();
    this.socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    this.socket.write(chunk);
    const ok = this.socket.write('\r\n', 'latin1');
    process.nextTick(uncork, this.socket);
    return ok;
  }

  endBody(trailers: string[]): void {
    if (this.#chunked && !this.#closed) this.socket.write(`0\r\n${headLines(trailers)}\r\n`, 'latin1');
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.socket.resume();
  }

  /** Drops the connection (a timeout, a retry, a client gone); the handler hears nothing more. */
  destroy(): void {
    this.#handler = undefined;
    this.#reusable = false;
    this.socket.destroy();
  }

  #onHead = (head: ParsedHead): number => {
    if (!this.#handler) {
      // A second response in the read that ended the first: nobody asked for it. Stop parsing here.
      this.#unsolicited = true;
      return HeadVerdict.UPGRADE;
    }
    if (head.status < 200 && head.status !== 101) return HeadVerdict.BODY; // 100 Continue and the like
    this.#responded = true;
    if (!head.keepAlive) this.#reusable = false;
    const length = fieldOf(head.raw, 'content-length');
    const chunked = fieldOf(head.raw, 'transfer-encoding') !== undefined;
    this.#handler?.onHead(
      head.status,
      head.reason,
      head.raw,
      length === undefined || chunked ? undefined : Number(length),
    );
    if (this.#method === 'HEAD') return HeadVerdict.SKIP_BODY;
    return HeadVerdict.BODY;
  };

  #onBody = (chunk: Buffer): void => {
    if (this.#handler && !this.#handler.onData(chunk)) this.pause();
  };

  #onComplete = (trailers: string[]): void => {
    if (!this.#responded || this.#unsolicited) return; // an interim (1xx) response, or one nobody asked for
    const handler = this.#handler;
    this.#handler = undefined;
    this.#ended = { handler, trailers };
  };

  /**
   * After a read is parsed: a response that ended in it is handed over, and the connection goes back to the
   * pool only if nothing followed the response. Doing this after (not during) parsing means a request sent
   * on the freed connection can never be answered by bytes that were already in the read.
   */
  #settle(): void {
    const ended = this.#ended;
    if (!ended) return;
    this.#ended = undefined;
    this.idleSince = Date.now();
    if (this.#unsolicited) this.#fail('reset', new Error('a response nobody asked for'));
    this.#onDone(this, this.#reusable && !this.#closed);
    ended.handler?.onEnd(ended.trailers);
  }

  #onData = (chunk: Buffer): void => {
    if (!this.#handler && !this.#closed) {
      // Bytes nobody asked for on an idle connection: it is out of step, so it goes.
      this.#fail('reset', new Error('unexpected data from the upstream'));
      return;
    }
    const result = this.#parser.execute(chunk);
    if (isParseError(result)) this.#fail('reset', result);
    this.#settle();
  };

  #onEnd = (): void => {
    // A close-delimited body ends here; anything else cut short is a reset.
    const result: ParseError | undefined = this.#handler ? this.#parser.finish() : undefined;
    if (isParseError(result)) this.#fail('reset', result);
    this.#reusable = false;
    this.#settle();
    this.socket.end();
  };

  #onError = (err: Error): void => {
    this.#fail('reset', err);
  };

  #onClose = (): void => {
    this.#closed = true;
    this.#reusable = false;
    this.#fail('reset', new Error('upstream connection closed'));
    this.#parser.free();
    this.#onDone(this, false);
  };

  #fail(failure: UpstreamFailure, err: Error): void {
    const handler = this.#handler;
    this.#handler = undefined;
    this.#reusable = false;
    if (!this.#closed) this.socket.destroy();
    handler?.onError(failure, !this.#responded, err);
  }
}

function uncork(socket: Socket): void {
  socket.uncork();
}
