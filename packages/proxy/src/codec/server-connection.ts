// One downstream HTTP/1.1 connection: llhttp reads requests in order (pipelined ones wait their turn), each
// becomes a ServerExchange handed to the listener, and the connection's limits are answered like Envoy:
// 431 head too large or too many fields, 414 target too long, 408 head too slow, idle keep-alive closed.

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { verifiedPrincipal } from '../identity/credentials.ts';
import { HeaderList } from './headers.ts';
import { HeadVerdict, isParseError, Llhttp, type ParsedHead, type ParseError } from './llhttp.ts';
import { type ExchangeConnection, HOLD_LIMIT, ServerExchange } from './server-exchange.ts';
import type { CodecLimits, ExchangeHandler } from './types.ts';

/** Pipelined requests parsed ahead of the one being answered before reading pauses. */
const MAX_QUEUED = 32;
/** A request body with no byte for this long is given up on (408), like Envoy's stream idle timeout. */
const BODY_IDLE_TIMEOUT_MS = 300_000;
/** How long a closing connection waits for the client to close first (so no reset eats the answer). */
const LINGER_MS = 2000;

/** Where a connection is, for its timers. */
type Phase = 'head' | 'busy' | 'idle' | 'tunnel' | 'closed';

/** A refusal the codec answers itself, in its turn: status and llhttp's (or our) reason code. */
interface Refusal {
  status: number;
  code: string;
}

/** The status for a parse error: 431 for a head over the limit, else 400. */
function statusOf(err: ParseError): number {
  return err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
}

interface StreamHandle {
  isStreamBase?: boolean;
  _consumed?: boolean;
  /** net.Socket's own record of whether the handle reads; kept true to what we do to it. */
  reading?: boolean;
  readStart(): number;
  readStop(): number;
}

export class ServerConnection implements ExchangeConnection {
  readonly socket: Socket;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The SPIFFE ID of the client's verified certificate (mutual TLS); '' over plain text. */
  readonly peerPrincipal: string;
  phase: Phase = 'head';
  /** When the phase began, or the last read of a streaming body (the tracker's clock). */
  since: number;
  readonly #limits: CodecLimits;
  readonly #handler: ExchangeHandler;
  readonly #parser: Llhttp;
  /** The socket's handle when llhttp reads from it directly (consume mode); pausing must stop it there. */
  readonly #consumed: StreamHandle | undefined;
  readonly #queue: (ServerExchange | Refusal)[] = [];
  #parsing: ServerExchange | undefined;
  /** The exchange whose head said Upgrade or CONNECT: reading stops after its head. */
  #tunnel: ServerExchange | undefined;
  #tunnelHead: Buffer | undefined;
  #requests = 0;
  #mustClose = false;
  #corked = false;
  #readPaused = false;
  #stopped = false;
  #closing = false;
  readonly #onClosed: (conn: ServerConnection) => void;

  constructor(
    socket: Socket,
    limits: CodecLimits,
    handler: ExchangeHandler,
    now: number,
    onClosed: (conn: ServerConnection) => void,
  ) {
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.peerPrincipal = socket instanceof TLSSocket ? verifiedPrincipal(socket) : '';
    this.#limits = limits;
    this.#handler = handler;
    this.#onClosed = onClosed;
    this.since = now;
    socket.setNoDelay(true);
    this.#parser = new Llhttp('request', limits.maxHeaderBytes, {
      onMessageBegin: this.#onMessageBegin,
      onHead: this.#onHead,
      onBody: this.#onBody,
      onComplete: this.#onComplete,
      onExecute: this.#onExecute,
    });
    const handle = (socket as unknown as { _handle?: StreamHandle })._handle;
    // Bytes already read (PERMISSIVE's sniffed first byte) are in the socket's buffer, which consume
    // mode would skip: such a connection is read the ordinary way.
    const buffered = socket.readableLength > 0;
    this.#consumed = handle?.isStreamBase === true && !handle._consumed && !buffered ? handle : undefined;
    if (this.#consumed && handle) {
      handle._consumed = true;
      this.#parser.consume(handle);
    } else socket.on('data', this.#onData);
    socket.on('drain', this.#onDrain);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  get mustClose(): boolean {
    return this.#mustClose;
  }

  // --- reading -----------------------------------------------------------------------------------

  #onData = (chunk: Buffer): void => {
    this.#afterRead(this.#parser.execute(chunk), chunk);
  };

  #onExecute = (result: number | ParseError): void => {
    this.#afterRead(result, undefined);
  };

  #afterRead(result: number | ParseError, chunk: Buffer | undefined): void {
    if (this.phase === 'busy') this.since = Date.now();
    if (isParseError(result)) {
      this.#parseFailed(result);
      return;
    }
    if (this.#tunnel && !this.#tunnelHead) {
      const data = chunk ?? this.#parser.currentBuffer();
      this.#tunnelHead = Buffer.from(data.subarray(result));
      this.#stopReading();
      if (this.#queue[0] === this.#tunnel) this.#activate();
    }
  }

  /** A request's first byte: an idle connection now waits for a head, under the header timeout. */
  #onMessageBegin = (): void => {
    if (this.phase === 'idle') this.#enter('head');
  };

  #onHead = (head: ParsedHead): number => {
    // The connection is closing (an answer said so while this read was being parsed): nothing more is read.
    if (this.#stopped) return HeadVerdict.UPGRADE;
    this.#requests++;
    const limits = this.#limits;
    if (head.raw.length / 2 > limits.maxHeaderCount) return this.#refuse(431, 'header_count');
    if (head.target.length > limits.maxUrlBytes) return this.#refuse(414, 'url_too_long');
    const exchange = new ServerExchange(this, head, new HeaderList(head.raw));
    // The Nth request is the last: its response says so and the connection closes after it. Only that one
    // is marked, so pipelined requests ahead of it are still answered on a kept-alive connection.
    if (limits.maxRequestsPerConnection > 0 && this.#requests === limits.maxRequestsPerConnection)
      exchange.closeAfter();
    this.#parsing = exchange;
    this.#queue.push(exchange);
    if (head.upgrade) {
      this.#tunnel = exchange;
      return HeadVerdict.UPGRADE;
    }
    if (this.#queue.length === 1) this.#activate();
    else if (this.#queue.length >= MAX_QUEUED) this.pauseReading();
    return HeadVerdict.BODY;
  };

  #onBody = (chunk: Buffer): void => {
    this.#parsing?.receive(chunk);
  };

  #onComplete = (trailers: string[]): void => {
    const exchange = this.#parsing;
    this.#parsing = undefined;
    exchange?.complete(trailers);
  };

  /** A limit the head broke: answered in its turn, then the connection closes. Stops the parser. */
  #refuse(status: number, code: string): number {
    this.#queue.push({ status, code });
    this.#stopReading();
    if (this.#queue.length === 1) this.#activate();
    return HeadVerdict.UPGRADE;
  }

  #parseFailed(err: ParseError): void {
    const status = statusOf(err);
    const broken = this.#parsing;
    this.#parsing = undefined;
    this.#stopReading();
    if (broken) {
      // The body of a request in flight was malformed: the client's fault, never the upstream's.
      broken.fail('protocol', status);
      if (this.#queue[0] === broken && !broken.headSent) this.#answer({ status, code: err.code });
      else this.#closeSoon();
      return;
    }
    this.#queue.push({ status, code: err.code });
    if (this.#queue.length === 1) this.#activate();
  }

  // --- turns -------------------------------------------------------------------------------------

  #activate(): void {
    const next = this.#queue[0];
    if (!next) return;
    this.#enter('busy');
    if (!(next instanceof ServerExchange)) {
      this.#answer(next);
      return;
    }
    next.activate();
    if (next === this.#tunnel) {
      const head = this.#tunnelHead;
      if (!head) return; // the head's bytes are not all counted yet; #afterRead activates it
      this.#handOver(next, head);
      return;
    }
    this.#handler.onRequest(next);
  }

  /** CONNECT or Upgrade: the socket leaves the codec for tunnel/. */
  #handOver(exchange: ServerExchange, head: Buffer): void {
    this.#enter('tunnel');
    this.socket.removeListener('drain', this.#onDrain);
    this.socket.removeListener('end', this.#onEnd);
    this.socket.removeListener('error', this.#onError);
    this.socket.resume();
    this.#handler.onTunnel(exchange, this.socket, head);
  }

  finished(exchange: ServerExchange, reusable: boolean): void {
    if (this.#queue[0] !== exchange) return;
    this.#queue.shift();
    this.#uncork();
    if (!reusable || this.#mustClose) {
      this.#closeSoon();
      return;
    }
    if (this.#queue.length > 0) this.#activate();
    else this.#enter('idle');
    if (this.#readPaused && this.#queue.length < MAX_QUEUED) this.resumeReading();
  }

  /** Answers a refusal the codec made itself, and closes. */
  #answer(refusal: Refusal): void {
    this.#handler.onRefused(this.remoteAddress, refusal.status, refusal.code);
    const reason = STATUS_CODES[refusal.status] ?? '';
    const body = `${reason}\n`;
    this.write(
      `HTTP/1.1 ${refusal.status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    this.#queue.length = 0;
    this.#closeSoon();
  }

  // --- writing and flow control --------------------------------------------------------------------

  write(data: Buffer | string): boolean {
    if (this.phase === 'closed' || this.socket.destroyed) return true;
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  /** Corks until the end of this tick, so a head and its first body bytes leave in one write. */
  cork(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.socket.cork();
    process.nextTick(this.#uncork);
  }

  #uncork = (): void => {
    if (!this.#corked) return;
    this.#corked = false;
    this.socket.uncork();
  };

  pauseReading(): void {
    if (this.#readPaused || this.#stopped) return;
    this.#readPaused = true;
    // Reads that llhttp takes straight from the handle never pass the socket's stream: pausing the socket
    // alone would let a request body pile up here. Stop the handle itself, as node:http does.
    const handle = this.#consumed;
    if (handle) {
      handle.reading = false;
      handle.readStop();
    } else this.socket.pause();
  }

  resumeReading(): void {
    if (!this.#readPaused || this.#stopped || this.#queue.length >= MAX_QUEUED) return;
    // The active exchange may still want its body paused; one behind it may hold all it should.
    for (const [i, item] of this.#queue.entries())
      if (item instanceof ServerExchange && item.buffered >= (i === 0 ? 1 : HOLD_LIMIT)) return;
    this.#readPaused = false;
    const handle = this.#consumed;
    if (handle) {
      handle.reading = true;
      handle.readStart();
    } else this.socket.resume();
  }

  #onDrain = (): void => {
    const head = this.#queue[0];
    if (head instanceof ServerExchange) head.onDrain?.();
  };

  #stopReading(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#consumed) this.#parser.unconsume();
    else this.socket.removeListener('data', this.#onData);
    this.socket.pause();
  }

  // --- endings -------------------------------------------------------------------------------------

  #onEnd = (): void => {
    // The client will send nothing more. A request cut short is its own fault; answers in flight finish.
    const err = this.#stopped ? undefined : this.#parser.finish();
    if (isParseError(err) && this.#parsing) {
      const cut = this.#parsing;
      this.#parsing = undefined;
      cut.fail('disconnect', 499);
      // It can never complete, so nobody will finish it: when it is the one being answered the connection
      // closes now; behind others, it leaves the queue and the connection closes once they are answered.
      const at = this.#queue.indexOf(cut);
      if (at === 0) {
        this.#closeSoon();
        return;
      }
      if (at > 0) this.#queue.splice(at, 1);
    }
    this.#mustClose = true;
    if (this.#queue.length === 0 || !(this.#queue[0] instanceof ServerExchange)) this.#closeSoon();
  };

  #onError = (): void => {
    // ECONNRESET and the like: 'close' follows and settles every exchange.
  };

  #onClose = (): void => {
    const queued = this.#queue.splice(0);
    this.#enter('closed');
    for (const item of queued) if (item instanceof ServerExchange) item.fail('disconnect', 499);
    this.#parsing?.fail('disconnect', 499);
    this.#parsing = undefined;
    if (this.#consumed && !this.#stopped) this.#parser.unconsume();
    this.#stopped = true;
    this.#parser.free();
    this.#onClosed(this);
  };

  abort(): void {
    this.socket.destroy();
  }

  /** Ends the connection politely; it is destroyed if the client has not closed after a short linger. */
  #closeSoon(): void {
    if (this.phase === 'closed' || this.#closing) return;
    this.#closing = true;
    this.#uncork();
    this.#stopReading();
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), LINGER_MS);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }

  #enter(phase: Phase): void {
    if (this.phase === 'closed' || this.phase === 'tunnel') return;
    this.phase = phase;
    this.since = Date.now();
  }

  /** Called by the tracker about once a second: 408 for a slow head, close for an idle connection. */
  checkTimeouts(now: number): void {
    const limits = this.#limits;
    if (this.phase === 'head' && now - this.since > limits.headerTimeoutMs) {
      this.#stopReading();
      this.#queue.push({ status: 408, code: 'header_timeout' });
      if (this.#queue.length === 1) this.#activate();
      else this.#closeSoon();
    } else if (this.phase === 'idle' && now - this.since > limits.idleTimeoutMs) {
      this.#closeSoon();
    } else if (this.phase === 'busy' && this.#parsing && now - this.since > BODY_IDLE_TIMEOUT_MS) {
      const slow = this.#parsing;
      this.#parsing = undefined;
      this.#stopReading();
      slow.fail('timeout', 408);
      if (!slow.headSent) this.#answer({ status: 408, code: 'body_timeout' });
      else this.#closeSoon();
    }
  }

  /** Draining: an idle connection closes now; a busy one after its response (which says so). */
  drain(): void {
    this.#mustClose = true;
    if (this.phase === 'idle' || (this.phase === 'head' && this.#queue.length === 0)) this.#closeSoon();
  }
}
