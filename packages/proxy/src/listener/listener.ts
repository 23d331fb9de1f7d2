// One listening socket: accepts connections up to the listener's cap (over it, Envoy's overload answer: 503
// and close, counted), terminates mutual TLS where the listener's mode asks for it (STRICT: only mTLS with a
// mesh certificate; PERMISSIVE: mTLS or plain text, by the first byte), runs each connection through the
// HTTP/1.1 codec into the connection manager, and drains.
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Errors } from '@strait/api';
import { ConnectionTracker } from '../codec/connection-tracker.ts';
import { ServerConnection } from '../codec/server-connection.ts';
import { meshTls } from '../identity/mesh-tls.ts';
import { answerAndClose } from '../tunnel/index.ts';
import { ConnectionManager } from './connection-manager.ts';
import type { ListenerConfig, ProxyContext } from './context.ts';
import { sniffTls } from './first-byte.ts';

export interface BindOptions {
  host: string;
  port: number;
  /** --workers: each worker binds its own socket next to its siblings'. */
  reusePort: boolean;
}

export class ProxyListener {
  readonly manager: ConnectionManager;
  readonly server: Server;
  readonly port: number;
  readonly #ctx: ProxyContext;
  readonly #tracker = new ConnectionTracker();
  /** Terminates mutual TLS; made at the first TLS connection, following certificate rotations. */
  #tls: TlsServer | undefined;
  #stopFollowing: (() => void) | undefined;

  constructor(ctx: ProxyContext, config: ListenerConfig) {
    this.#ctx = ctx;
    this.manager = new ConnectionManager(ctx, config);
    this.port = config.listener.port;
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, this.#accept);
  }

  get config(): ListenerConfig {
    return this.manager.config;
  }

  set config(config: ListenerConfig) {
    this.manager.config = config;
  }

  /** Open connections, for the connection cap and /clusters-style status. */
  get connections(): number {
    return this.#tracker.size;
  }

  listen(options: BindOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const listen = { host: options.host, port: options.port };
      this.server.listen(options.reusePort ? { ...listen, exclusive: true, reusePort: true } : listen, () => {
        this.server.removeListener('error', reject);
        this.server.on('error', (err) =>
          this.#ctx.logger.error({ err, listener: this.config.listener.name }, 'listener error'),
        );
        resolve();
      });
    });
  }

  #accept = (socket: Socket): void => {
    const config = this.config;
    const name = config.listener.name;
    const observer = this.#ctx.observer;
    if (this.#tracker.size >= config.maxConnections) {
      observer.connectionOverflow(name);
      answerAndClose(
        socket,
        Errors.OVERLOADED.status,
        `${Errors.OVERLOADED.message} (${config.maxConnections})\n`,
      );
      return;
    }
    const mode = config.listener.tls?.mode;
    if (mode === 'STRICT' || mode === 'PERMISSIVE') this.#acceptTls(socket, mode === 'STRICT');
    else this.#open(socket);
  };

  /** Mutual TLS, or (PERMISSIVE) plain text when the first byte is not a TLS handshake. */
  #acceptTls(socket: Socket, strict: boolean): void {
    const tls = this.#tlsServer();
    if (!tls) {
      // No certificate yet: STRICT cannot serve anyone; PERMISSIVE serves plain text.
      if (strict) socket.destroy();
      else this.#open(socket);
      return;
    }
    if (strict) {
      tls.emit('connection', socket);
      return;
    }
    sniffTls(socket, this.config.limits.headerTimeoutMs, (isTls) => {
      if (isTls) tls.emit('connection', socket);
      else {
        this.#open(socket);
        socket.resume();
      }
    });
  }

  #tlsServer(): TlsServer | undefined {
    if (this.#tls) return this.#tls;
    const options = meshTls.serverOptions();
    if (!options) return undefined;
    // A client without a certificate from the mesh's roots fails the handshake (Envoy answers the same).
    // A handshake is bounded like a request head: a client that stalls in it is cut at the header timeout
    // (node's own default would hold it for two minutes).
    const tls = createTlsServer({
      ...options,
      requestCert: true,
      rejectUnauthorized: true,
      allowHalfOpen: true,
      handshakeTimeout: this.config.limits.headerTimeoutMs,
    });
    tls.on('secureConnection', (socket) => this.#open(socket));
    tls.on('tlsClientError', (err, socket) => {
      this.#ctx.logger.debug(
        { err: err.message, listener: this.config.listener.name },
        'mTLS handshake refused',
      );
      socket.destroy();
    });
    this.#stopFollowing = meshTls.onUpdate((next) => tls.setSecureContext(next));
    this.#tls = tls;
    return tls;
  }

  #open(socket: Socket): void {
    const name = this.config.listener.name;
    const observer = this.#ctx.observer;
    observer.connectionsChanged(name, 1);
    const connection = new ServerConnection(
      socket,
      this.config.limits,
      this.manager,
      Date.now(),
      (closed) => {
        this.#tracker.delete(closed);
        observer.connectionsChanged(name, -1);
      },
    );
    this.#tracker.add(connection);
  }

  /** Stops accepting; idle connections close now, busy ones after their response (which says so). */
  drain(): Promise<void> {
    this.#stopFollowing?.();
    this.#tracker.drain();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Cuts every connection (the drain timeout passed). */
  close(): void {
    this.#stopFollowing?.();
    this.#tracker.closeAll();
    this.#tracker.stop();
    this.server.close();
  }
}
