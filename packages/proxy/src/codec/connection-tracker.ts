// The open connections of one listener: counted for its connection cap, swept about once a second for
// their timeouts (one timer per listener, not per connection), drained or closed together.
import type { ServerConnection } from './server-connection.ts';

export class ConnectionTracker {
  readonly #connections = new Set<ServerConnection>();
  readonly #timer: NodeJS.Timeout;

  constructor(sweepMs = 1000) {
    this.#timer = setInterval(this.#sweep, sweepMs);
    this.#timer.unref();
  }

  get size(): number {
    return this.#connections.size;
  }

  add(connection: ServerConnection): void {
    this.#connections.add(connection);
  }

  delete(connection: ServerConnection): void {
    this.#connections.delete(connection);
  }

  /** Idle connections close now; busy ones after their response, which says so. */
  drain(): void {
    for (const connection of this.#connections) connection.drain();
  }

  closeAll(): void {
    for (const connection of this.#connections) connection.abort();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sweep = (): void => {
    const now = Date.now();
    for (const connection of this.#connections) connection.checkTimeouts(now);
  };
}
