// A bare HTTP/1.1 POST client over a few keep-alive TCP connections, for the simulator's ACK posts:
// 1000 simulated proxies ACK each change at once, and node:http's client costs more per request than
// the control plane spends answering one, which would make the simulator part of what is measured.
import { connect, type Socket } from 'node:net';

export interface PostResult {
  /** The response status; 0 when the connection failed before a whole response arrived. */
  status: number;
  text: string;
}

interface Pending {
  request: Buffer;
  resolve: (result: PostResult) => void;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** A whole chunked body as text, or undefined while it is incomplete. */
function dechunk(body: Buffer): string | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(body.toString('latin1', at, lineEnd), 16);
    if (!Number.isFinite(size)) return '';
    if (size === 0)
      return body.indexOf('\r\n', lineEnd + 2) < 0 ? undefined : Buffer.concat(parts).toString();
    if (body.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** One keep-alive connection answering one request at a time. */
class Connection {
  readonly #poster: KeepAlivePoster;
  #socket: Socket | undefined;
  #current: Pending | undefined;
  #received: Buffer = Buffer.alloc(0);

  constructor(poster: KeepAlivePoster) {
    this.#poster = poster;
  }

  get idle(): boolean {
    return this.#current === undefined;
  }

  send(pending: Pending): void {
    this.#current = pending;
    this.#received = Buffer.alloc(0);
    if (!this.#socket || this.#socket.destroyed) this.#socket = this.#open();
    this.#socket.write(pending.request);
  }

  #open(): Socket {
    const socket = connect({ host: this.#poster.host, port: this.#poster.port, noDelay: true });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const broken = () => {
      // A socket this connection already let go of (closed after its answer) fails nothing.
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#finish({ status: 0, text: '' });
    };
    socket.on('error', broken);
    socket.on('close', broken);
    return socket;
  }

  #onData(chunk: Buffer): void {
    this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk]);
    const end = this.#received.indexOf(HEAD_END);
    if (end < 0) return;
    const head = this.#received.toString('latin1', 0, end);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    const body = this.#received.subarray(end + 4);
    let text: string | undefined;
    if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) text = dechunk(body);
    else {
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? Number.NaN);
      if (!Number.isFinite(length)) {
        // Not a response this client can frame: give up on the connection.
        this.#socket?.destroy();
        return;
      }
      if (body.length >= length) text = body.toString('utf8', 0, length);
    }
    if (text === undefined) return;
    this.#received = Buffer.alloc(0);
    if (/\r\nconnection:\s*close/i.test(head)) {
      this.#socket?.end();
      this.#socket = undefined;
    }
    this.#finish({ status, text });
  }

  #finish(result: PostResult): void {
    const pending = this.#current;
    if (!pending) return;
    this.#current = undefined;
    pending.resolve(result);
    this.#poster.next(this);
  }

  close(): void {
    this.#socket?.destroy();
  }
}

export class KeepAlivePoster {
  readonly host: string;
  readonly port: number;
  readonly #headers: string;
  readonly #connections: Connection[] = [];
  readonly #maxConnections: number;
  #queue: Pending[] = [];
  #queueHead = 0;

  constructor(host: string, port: number, maxConnections: number, headers: Record<string, string> = {}) {
    this.host = host;
    this.port = port;
    this.#maxConnections = maxConnections;
    this.#headers = [`host: ${host}:${port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
      .map((line) => `${line}\r\n`)
      .join('');
  }

  /** POSTs a JSON body; resolves when the answer is in (never rejects: a failure is status 0). */
  post(path: string, json: string): Promise<PostResult> {
    const body = Buffer.from(json);
    const request = Buffer.concat([
      Buffer.from(
        `POST ${path} HTTP/1.1\r\n${this.#headers}content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
      ),
      body,
    ]);
    return new Promise((resolve) => {
      const pending = { request, resolve };
      const idle = this.#connections.find((c) => c.idle);
      if (idle) idle.send(pending);
      else if (this.#connections.length < this.#maxConnections) {
        const connection = new Connection(this);
        this.#connections.push(connection);
        connection.send(pending);
      } else this.#queue.push(pending);
    });
  }

  /** Gives a connection that just finished the next queued request. */
  next(connection: Connection): void {
    if (this.#queueHead >= this.#queue.length) return;
    const pending = this.#queue[this.#queueHead++] as Pending;
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    connection.send(pending);
  }

  close(): void {
    for (const connection of this.#connections) connection.close();
  }
}
