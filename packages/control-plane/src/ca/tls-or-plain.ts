// One port for both: a connection whose first byte opens a TLS handshake (0x16) is served over TLS with a
// client certificate asked for (proxies holding one); any other is plain HTTP (straitctl, the console's
// API, a proxy's first CSR). The HTTP server is the same either way.
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions } from 'node:tls';

/** The first byte of a TLS record carrying a handshake (a ClientHello, here). */
const TLS_HANDSHAKE = 0x16;
/** A connection that sends nothing for this long is closed before it is classified. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;

export interface TlsOrPlainServer {
  server: NetServer;
  /** New connections use these (a renewed serving certificate); open ones keep theirs. */
  setSecureContext(options: SecureContextOptions): void;
}

export function tlsOrPlain(http: HttpServer, options: SecureContextOptions): TlsOrPlainServer {
  // The verified chain, if any, is for the handler to judge: a missing certificate is a 401, not a
  // handshake failure, and a proxy's first CSR comes without one.
  const tls = createTlsServer({ ...options, requestCert: true, rejectUnauthorized: false });
  tls.on('secureConnection', (socket) => http.emit('connection', socket));
  tls.on('tlsClientError', (_err, socket) => socket.destroy());
  const server = createServer((socket: Socket) => {
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE) tls.emit('connection', socket);
      else {
        http.emit('connection', socket);
        socket.resume();
      }
    });
  });
  // The HTTP server never listens itself; this starts its request- and header-timeout checks.
  server.on('listening', () => http.emit('listening'));
  return { server, setSecureContext: (next) => tls.setSecureContext(next) };
}
