// A host's keep-alive connections: the most recently idle one is reused, another is opened up to the limit
// (Istio's connectionPool maxConnections), the rest wait in order; idle ones close before the app's own
// keep-alive (Node: 5 s) could close them, so a reused connection is never a surprise reset.
import { connect, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { UpstreamTls } from '@strait/api';
import { UpstreamConnection } from './connection.ts';

export interface PoolSettings {
  connectTimeoutMs: number;
  /** An idle connection is closed after this long (and never reused close to it). */
  idleTimeoutMs: number;
  /** Connections to this host at most; undefined: no limit. */
  maxConnections: number | undefined;
  /** TLS to this host (mesh mTLS or origination); undefined: plain TCP. */
  tls?: UpstreamTls | undefined;
}

/** Opens a socket to an upstream (plain TCP here; TLS plugs in the same way). */
export type Connector = (address: string, port: number) => Socket;

export const plainConnector: Connector = (address, port) => connect({ host: address, port });

/** A connection, or why none could be had. */
export type Acquired =
  | { connection: UpstreamConnection }
  | { failure: 'connect-failure' | 'timeout'; error: Error };

type Waiter = (result: Acquired) => void;

/** How often idle connections are checked; an idle one never outlives idleTimeoutMs. */
const SWEEP_MS = 1000;

export class ConnectionPool {
  readonly address: string;
  readonly port: number;
  settings: PoolSettings;
  readonly #connector: Connector;
  /** Idle connections, most recently used last. */
  readonly #idle: UpstreamConnection[] = [];
  readonly #all = new Set<UpstreamConnection>();
  #connecting = 0;
  readonly #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(address: string, port: number, settings: PoolSettings, connector: Connector = plainConnector) {
    this.address = address;
    this.port = port;
    this.settings = settings;
    this.#connector = connector;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Open connections (idle and busy) and requests waiting for one. */
  get stats(): { open: number; idle: number; waiting: number } {
    return { open: this.#all.size, idle: this.#idle.length, waiting: this.#waiters.length };
  }

  /** Calls back with a connection: at once when one is idle, else once one opens or frees up. */
  acquire(done: Waiter): void {
    const idle = this.#takeIdle();
    if (idle) {
      done({ connection: idle });
      return;
    }
    this.#waiters.push(done);
    const max = this.settings.maxConnections;
    if (max === undefined || this.#all.size + this.#connecting < max) this.#open();
  }

  /** Forgets a waiter that no longer wants a connection (its request ended first). */
  cancel(done: Waiter): void {
    const i = this.#waiters.indexOf(done);
    if (i >= 0) this.#waiters.splice(i, 1);
  }

  /** Closes idle connections now and every other one as it finishes. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    for (const connection of this.#idle.splice(0)) connection.destroy();
    for (const waiter of this.#waiters.splice(0))
      waiter({ failure: 'connect-failure', error: new Error('pool closed') });
  }

  #takeIdle(): UpstreamConnection | undefined {
    const fresh = Date.now() - this.settings.idleTimeoutMs + SWEEP_MS / 2;
    while (this.#idle.length > 0) {
      const connection = this.#idle.pop() as UpstreamConnection;
      if (!connection.closed && connection.idleSince > fresh) return connection;
      connection.destroy();
    }
    return undefined;
  }

  #open(): void {
    this.#connecting++;
    let settled = false;
    const socket = this.#connector(this.address, this.port);
    const timer = setTimeout(
      () => finish(new Error('connect timeout'), 'timeout'),
      this.settings.connectTimeoutMs,
    );
    const finish = (error: Error | undefined, failure: 'connect-failure' | 'timeout' = 'connect-failure') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting--;
      socket.removeListener('error', onError);
      if (error) {
        socket.destroy();
        // The waiter this attempt was for hears of the failure. Those left over that no other attempt in
        // flight will serve get an attempt of their own (each fails in turn if the host stays down), or
        // they would wait forever: nothing else opens a connection for them below the limit.
        const waiter = this.#waiters.shift();
        waiter?.({ failure, error });
        const max = this.settings.maxConnections;
        const room = max === undefined || this.#all.size + this.#connecting < max;
        if (!this.#closed && room && this.#waiters.length > this.#connecting) this.#open();
        return;
      }
      const connection = new UpstreamConnection(socket, this.#done);
      this.#all.add(connection);
      this.#ensureSweep();
      this.#hand(connection);
    };
    const onError = (err: Error) => finish(err);
    // A TLS connection is ready (and its peer checked) only once the handshake is done.
    socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', () => finish(undefined));
    socket.once('error', onError);
  }

  /** A connection finished a response (or closed). */
  #done = (connection: UpstreamConnection, reusable: boolean): void => {
    if (!reusable || this.#closed) {
      if (this.#all.delete(connection)) {
        const i = this.#idle.indexOf(connection);
        if (i >= 0) this.#idle.splice(i, 1);
        connection.destroy();
        // A slot freed up: open a connection for whoever waits.
        if (this.#waiters.length > 0 && !this.#closed) this.#open();
      }
      return;
    }
    this.#hand(connection);
  };

  /** Gives a free connection to the first waiter, or keeps it idle. */
  #hand(connection: UpstreamConnection): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter({ connection });
      return;
    }
    connection.idleSince = Date.now();
    this.#idle.push(connection);
  }

  #ensureSweep(): void {
    if (this.#timer) return;
    this.#timer = setInterval(this.#sweep, SWEEP_MS);
    this.#timer.unref();
  }

  #sweep = (): void => {
    const stale = Date.now() - this.settings.idleTimeoutMs + SWEEP_MS;
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      const connection = this.#idle[i] as UpstreamConnection;
      if (connection.idleSince <= stale) {
        this.#idle.splice(i, 1);
        this.#all.delete(connection);
        connection.destroy();
      }
    }
    if (this.#all.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  };
}
