// The codec's contract with the rest of the proxy: a downstream exchange (request in, response out) as the
// filters and the router see it. HTTP/1.1 implements it on net and TLS sockets; an HTTP/2 codec (node:http2
// sessions) can implement the same shapes later without the filters or the router changing.
import type { Socket } from 'node:net';
import type { HeaderList } from './headers.ts';

/** Where a body's pieces go. */
export interface BodySink {
  /** Returns false when the sink is full: the producer pauses until told to resume. */
  data(chunk: Buffer): boolean;
  /** The body is complete; `trailers` as received ([name, value, ...], usually empty). */
  end(trailers: string[]): void;
}

/** How a client broke its own request: bad framing, going away, or too slow. */
export type DownstreamFault = 'protocol' | 'disconnect' | 'timeout';

/** One request from a client and the way its response goes back. */
export interface DownstreamExchange {
  readonly method: string;
  /** The request target as sent: a path, an absolute URL, an authority (CONNECT) or `*`. */
  readonly target: string;
  readonly versionMinor: number;
  readonly headers: HeaderList;
  /** The request carries a body (a length above zero, or chunked). */
  readonly hasBody: boolean;
  /** Content-Length when the body has one; undefined when chunked or absent. */
  readonly contentLength: number | undefined;
  /** Body bytes received so far. */
  readonly bodyBytes: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The SPIFFE ID in the client's verified mesh certificate (mutual TLS); '' over plain text. */
  readonly peerPrincipal: string;
  /** The address the client connected to. */
  readonly localAddress: string;
  /** The TLS server name (SNI) the client sent; '' over plain text. */
  readonly serverName: string;
  /** Starts the body flowing (answering Expect: 100-continue); chunks already read are sent at once. */
  readBody(sink: BodySink): void;
  pauseBody(): void;
  resumeBody(): void;

  readonly headSent: boolean;
  /** Response bytes written so far, head excluded. */
  readonly bytesSent: number;
  /**
   * Sends the status line and fields. `length` is the body's size when known (then it is passed through as
   * Content-Length); undefined means unknown, and the codec frames it (chunked, or close-delimited for 1.0).
   */
  head(status: number, reason: string, raw: string[], length: number | undefined): void;
  /** Returns false when the connection is full; `onDrain` is called once it empties. */
  write(chunk: Buffer): boolean;
  end(trailers?: string[]): void;
  /** Cuts the connection: a response that cannot be finished. */
  abort(): void;
  /** Ask the client to close after this response (draining, an error). */
  closeAfter(): void;
  onDrain: (() => void) | undefined;
  /** Called once if the client breaks the request off before the response ended; `status` to answer. */
  onFault: ((fault: DownstreamFault, status: number) => void) | undefined;
}

/** What a listener does with each exchange its connections produce. */
export interface ExchangeHandler {
  onRequest(exchange: DownstreamExchange): void;
  /** CONNECT, or an Upgrade (WebSocket): the socket and the bytes after the head are the handler's now. */
  onTunnel(exchange: DownstreamExchange, socket: Socket, head: Buffer): void;
  /** A request refused by the codec itself (limits, malformed): for the access log and metrics. */
  onRefused(remoteAddress: string, status: number, code: string): void;
}

/** The listener limits the codec enforces, with Envoy's answers. */
export interface CodecLimits {
  /** Request head (line plus fields); over it: 431. */
  maxHeaderBytes: number;
  /** Fields in a request head; over it: 431. */
  maxHeaderCount: number;
  /** Request target length; over it: 414. */
  maxUrlBytes: number;
  /** Time for a request head to arrive; over it: 408 and the connection closes. */
  headerTimeoutMs: number;
  /** Keep-alive time between requests; over it the connection closes. */
  idleTimeoutMs: number;
  /** Requests on one connection before it is closed after the last one's response; 0: no limit. */
  maxRequestsPerConnection: number;
}
