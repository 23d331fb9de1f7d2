// One request on a downstream HTTP/1.1 connection and its response: the body flows to a sink with
// back-pressure, and the response head is built once and leaves with the first body bytes in one write.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { type HeaderList, headLines } from './headers.ts';
import type { BodySink, DownstreamExchange, DownstreamFault } from './types.ts';

/** What an exchange needs from its connection. */
export interface ExchangeConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly peerPrincipal: string;
  /** The connection's socket (a TLSSocket over mutual TLS): read for the rarer facts, e.g. by a policy. */
  readonly socket: Socket;
  /** Writes bytes for the active exchange; false when the socket's buffer is full. */
  write(data: Buffer | string): boolean;
  cork(): void;
  pauseReading(): void;
  resumeReading(): void;
  /** The connection must close after the current response (client asked, limits, draining). */
  readonly mustClose: boolean;
  /** The response is complete; `reusable` says the connection can take the next request. */
  finished(exchange: ServerExchange, reusable: boolean): void;
  abort(): void;
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
/**
 * Body bytes held for a reader that is not taking them (not this request's turn yet, or the upstream still
 * connecting) before the connection stops reading: Envoy's per-connection buffer limit, 1 MiB.
 */
export const HOLD_LIMIT = 1024 * 1024;
const CRLF = '\r\n';

export class ServerExchange implements DownstreamExchange {
  readonly method: string;
  readonly target: string;
  readonly versionMinor: number;
  readonly headers: HeaderList;
  readonly hasBody: boolean;
  readonly contentLength: number | undefined;
  bodyBytes = 0;
  bytesSent = 0;
  headSent = false;
  onDrain: (() => void) | undefined;
  onFault: ((fault: DownstreamFault, status: number) => void) | undefined;
  readonly #conn: ExchangeConnection;
  readonly #expectContinue: boolean;
  /** The client asked to close (Connection: close, or HTTP/1.0 without keep-alive). */
  readonly #clientCloses: boolean;
  #sink: BodySink | undefined;
  #paused = false;
  #pending: Buffer[] = [];
  /** Bytes in #pending. */
  #held = 0;
  #requestDone = false;
  #trailers: string[] = [];
  #sinkEnded = false;
  #active = false;
  #chunked = false;
  #noBody = false;
  #close = false;
  #done = false;

  constructor(
    conn: ExchangeConnection,
    head: { method: string; target: string; versionMinor: number; keepAlive: boolean },
    headers: HeaderList,
  ) {
    this.#conn = conn;
    this.method = head.method;
    this.target = head.target;
    this.versionMinor = head.versionMinor;
    this.headers = headers;
    const length = headers.get('content-length');
    const chunked = headers.get('transfer-encoding') !== undefined;
    this.contentLength = length === undefined || chunked ? undefined : Number(length);
    this.hasBody = chunked || (this.contentLength !== undefined && this.contentLength > 0);
    this.#requestDone = !this.hasBody;
    this.#expectContinue = this.hasBody && this.versionMinor >= 1 && headers.get('expect') !== undefined;
    this.#clientCloses = !head.keepAlive;
  }

  get remoteAddress(): string {
    return this.#conn.remoteAddress;
  }

  get remotePort(): number {
    return this.#conn.remotePort;
  }

  get peerPrincipal(): string {
    return this.#conn.peerPrincipal;
  }

  /** Read from the socket only when asked (an authorization policy): most requests never need it. */
  get localAddress(): string {
    return this.#conn.socket.localAddress ?? '';
  }

  /** The SNI the client sent in its TLS handshake; '' over plain text or without one. */
  get serverName(): string {
    const socket = this.#conn.socket;
    const name = socket instanceof TLSSocket ? (socket as { servername?: unknown }).servername : undefined;
    return typeof name === 'string' ? name : '';
  }

  get requestDone(): boolean {
    return this.#requestDone;
  }

  get responseDone(): boolean {
    return this.#done;
  }

  // --- request body --------------------------------------------------------------------------

  readBody(sink: BodySink): void {
    this.#sink = sink;
    if (this.#expectContinue && !this.headSent) this.#conn.write(CONTINUE);
    this.#flush();
  }

  pauseBody(): void {
    if (this.#paused) return;
    this.#paused = true;
    if (this.#active) this.#conn.pauseReading();
  }

  resumeBody(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#flush();
    if (this.#active && !this.#paused) this.#conn.resumeReading();
  }

  /** @internal A body chunk from the parser. */
  receive(chunk: Buffer): void {
    this.bodyBytes += chunk.length;
    if (this.#sink && !this.#paused && this.#pending.length === 0) {
      if (!this.#sink.data(chunk)) this.pauseBody();
      return;
    }
    this.#pending.push(chunk);
    this.#held += chunk.length;
    // Held back (paused, nobody reading yet, or not this request's turn): stop reading until it can go on.
    if ((this.#active && this.#paused) || this.#held >= HOLD_LIMIT) this.#conn.pauseReading();
  }

  /** @internal The request message is complete. */
  complete(trailers: string[]): void {
    this.#requestDone = true;
    this.#trailers = trailers;
    this.#flush();
  }

  /** Bytes buffered here waiting for the sink (pipelined or paused). */
  get buffered(): number {
    return this.#held;
  }

  #flush(): void {
    const sink = this.#sink;
    if (!sink) return;
    while (this.#pending.length > 0 && !this.#paused) {
      const chunk = this.#pending.shift() as Buffer;
      this.#held -= chunk.length;
      if (!sink.data(chunk)) this.pauseBody();
    }
    // What was held has gone on: reading can go on too (if nothing else holds it).
    if (this.#active && !this.#paused && this.#held === 0) this.#conn.resumeReading();
    if (this.#requestDone && this.#pending.length === 0 && !this.#sinkEnded) {
      this.#sinkEnded = true;
      sink.end(this.#trailers);
    }
  }

  // --- lifecycle, from the connection -----------------------------------------------------------

  /** @internal The exchange's turn on the connection: its reads and writes are now live. */
  activate(): void {
    this.#active = true;
    if (this.#paused) this.#conn.pauseReading();
  }

  /** @internal The client broke the request off; tells the owner (router) once. */
  fail(fault: DownstreamFault, status: number): void {
    if (this.#done) return;
    const handler = this.onFault;
    this.onFault = undefined;
    handler?.(fault, status);
  }

  // --- response ------------------------------------------------------------------------------

  head(status: number, reason: string, raw: string[], length: number | undefined): void {
    if (this.headSent) return;
    this.headSent = true;
    this.#noBody =
      this.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
    let framing = '';
    if (status === 204 || status === 304) framing = '';
    else if (length !== undefined) framing = `content-length: ${length}\r\n`;
    else if (this.#noBody) framing = '';
    else if (this.versionMinor >= 1) {
      this.#chunked = true;
      framing = 'transfer-encoding: chunked\r\n';
    } else this.#close = true; // HTTP/1.0 and an unknown length: the close ends the body
    if (this.#clientCloses || this.#conn.mustClose || this.versionMinor === 0) this.#close = true;
    const connection = this.#close ? 'connection: close\r\n' : '';
    this.#conn.cork();
    this.#conn.write(
      `HTTP/1.1 ${status} ${reason || STATUS_CODES[status] || ''}\r\n${headLines(raw)}${framing}${connection}\r\n`,
    );
  }

  write(chunk: Buffer): boolean {
    if (this.#done || this.#noBody || chunk.length === 0) return true;
    this.bytesSent += chunk.length;
    if (!this.#chunked) return this.#conn.write(chunk);
    this.#conn.cork();
    this.#conn.write(`${chunk.length.toString(16)}\r\n`);
    this.#conn.write(chunk);
    return this.#conn.write(CRLF);
  }

  end(trailers?: string[]): void {
    if (this.#done) return;
    if (!this.headSent) this.head(200, '', [], 0);
    if (this.#chunked) this.#conn.write(`0\r\n${trailers ? headLines(trailers) : ''}\r\n`);
    this.#done = true;
    this.onFault = undefined;
    this.onDrain = undefined;
    // A response that ends before its request did leaves the connection out of step: it closes.
    this.#conn.finished(this, !this.#close && this.#requestDone);
  }

  abort(): void {
    if (this.#done) return;
    this.#done = true;
    this.onFault = undefined;
    this.onDrain = undefined;
    this.#conn.abort();
  }

  closeAfter(): void {
    this.#close = true;
  }
}
