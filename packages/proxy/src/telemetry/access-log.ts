// The access log: one JSON line per request with Envoy's field names, written through pino to an
// asynchronous destination so that logging never blocks the request path.
import pino from 'pino';

/** One request, as the pipeline saw it. Field names are Envoy's; absent values are logged as null. */
export interface AccessLogEntry {
  /** When the request's first byte arrived: epoch milliseconds (or a Date). Logged as ISO 8601. */
  start_time: number | Date;
  method: string;
  path: string;
  /** e.g. HTTP/1.1 */
  protocol: string;
  /** 0 when no response was sent (e.g. the client went away). */
  response_code: number;
  /** Envoy's response flags, "-" for none. */
  response_flags: string;
  bytes_received: number;
  bytes_sent: number;
  /** Total time in milliseconds. */
  duration: number;
  upstream_host?: string | undefined;
  upstream_cluster?: string | undefined;
  x_request_id?: string | undefined;
  authority?: string | undefined;
  user_agent?: string | undefined;
  downstream_remote_address?: string | undefined;
  route_name?: string | undefined;
}

export interface AccessLogOptions {
  enabled: boolean;
  /** A pino destination stream, or a file descriptor (default 1, stdout) opened as an async sonic-boom. */
  destination?: pino.DestinationStream | number;
}

export class AccessLog {
  readonly #logger: pino.Logger;
  /** The sonic-boom this log opened itself (for an fd), which close() ends; a given stream is the caller's. */
  readonly #owned: ReturnType<typeof pino.destination> | undefined;
  #enabled: boolean;

  constructor(opts: AccessLogOptions) {
    this.#enabled = opts.enabled;
    this.#owned =
      typeof opts.destination === 'object'
        ? undefined
        : pino.destination({ dest: opts.destination ?? 1, sync: false });
    const destination = this.#owned ?? (opts.destination as pino.DestinationStream);
    // No level, time, pid or hostname: each line is the entry, tagged "log":"access" first so it can be told
    // apart from the proxy's own log lines when both go to stdout.
    this.#logger = pino(
      { base: null, timestamp: false, formatters: { level: () => ({ log: 'access' }) }, level: 'info' },
      destination,
    );
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Turns logging on or off (the snapshot's telemetry.accessLog, or --no-access-log). */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
  }

  /** Writes one line. Fields are copied in a fixed order into a fresh object: no per-request child loggers. */
  log(entry: AccessLogEntry): void {
    if (!this.#enabled) return;
    const start = entry.start_time;
    this.#logger.info({
      start_time: (typeof start === 'number' ? new Date(start) : start).toISOString(),
      method: entry.method,
      path: entry.path,
      protocol: entry.protocol,
      response_code: entry.response_code,
      response_flags: entry.response_flags,
      bytes_received: entry.bytes_received,
      bytes_sent: entry.bytes_sent,
      duration: Math.round(entry.duration),
      upstream_host: entry.upstream_host ?? null,
      upstream_cluster: entry.upstream_cluster ?? null,
      x_request_id: entry.x_request_id ?? null,
      authority: entry.authority ?? null,
      user_agent: entry.user_agent ?? null,
      downstream_remote_address: entry.downstream_remote_address ?? null,
      route_name: entry.route_name ?? null,
    });
  }

  /** Writes out whatever is buffered (call before exit, e.g. after draining). */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#logger.flush(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** Flushes, then closes a destination this log opened (stdout and stderr themselves stay open). */
  async close(): Promise<void> {
    this.#enabled = false;
    await this.flush();
    const owned = this.#owned;
    if (!owned) return;
    await new Promise<void>((resolve) => {
      owned.once('close', () => resolve());
      owned.once('error', () => resolve());
      owned.end();
    });
  }
}
