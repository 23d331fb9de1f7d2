// One listening socket: accepts connections up to the listener's cap (over it, Envoy's overload answer: 503
// and close, counted), runs each through the HTTP/1.1 codec into the connection manager, and drains.
import { createServer, type Server, type Socket } from 'node:net';
import { Errors } from '@strait/api';
import { ConnectionTracker } from '../codec/connection-tracker.ts';
import { ServerConnection } from '../codec/server-connection.ts';
import { answerAndClose } from '../tunnel/index.ts';
import { ConnectionManager } from './connection-manager.ts';
import type { ListenerConfig, ProxyContext } from './context.ts';

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
    observer.connectionsChanged(name, 1);
    const connection = new ServerConnection(socket, config.limits, this.manager, Date.now(), (closed) => {
      this.#tracker.delete(closed);
      observer.connectionsChanged(name, -1);
    });
    this.#tracker.add(connection);
  };

  /** Stops accepting; idle connections close now, busy ones after their response (which says so). */
  drain(): Promise<void> {
    this.#tracker.drain();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Cuts every connection (the drain timeout passed). */
  close(): void {
    this.#tracker.closeAll();
    this.#tracker.stop();
    this.server.close();
  }
}
