// One node:http server per listener, with the parser kept strict and malformed input answered with a 4xx.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { answerAndClose } from '../tunnel/index.ts';
import type { HttpListener } from './http-listener.ts';

export interface ServerLimits {
  headersTimeoutMs: number;
}

/** Request header block limit: larger requests get 431. */
const MAX_HEADER_BYTES = 16 * 1024;

/** Status for a parser error code (llhttp's HPE_* and Node's timeouts). */
function statusFor(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

export function createListenerServer(listener: HttpListener, limits: ServerLimits): Server {
  const server = createServer({
    insecureHTTPParser: false,
    // A missing Host is answered by the listener, with a body that says so.
    requireHostHeader: false,
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: 300_000,
    keepAliveTimeout: 30_000,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    noDelay: true,
  });
  // Before node:http's own listener: a connection over the limit is answered before it is parsed.
  server.prependListener('connection', listener.accept);
  server.on('request', listener.handleRequest);
  server.on('connect', listener.handleConnect);
  server.on('upgrade', listener.handleUpgrade);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // A malformed or too slow request, or a client gone mid-body: a request in flight on this connection
    // ends as the client's fault; answer if the socket still can, then drop the connection.
    const status = statusFor(err.code);
    const gone = err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable;
    const { headSent } = listener.clientError(socket, status, gone ? 'disconnect' : 'protocol');
    if (gone || headSent) {
      socket.destroy();
      return;
    }
    // Closed for sure after a short linger: a client that never reads cannot hold the connection open.
    answerAndClose(socket, status, `${REASONS[status]}\n`);
  });
  return server;
}
