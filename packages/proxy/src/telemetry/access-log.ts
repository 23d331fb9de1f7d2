// The access log: one JSON line per request with Envoy's field names. Lines are built by hand (fixed
// fields, no generic serializer) and written in batches, off the request path, by BatchWriter.
import { fstatSync } from 'node:fs';
import { BatchWriter, type LineSink } from './batch-writer.ts';

/** Linux's PIPE_BUF: a write to a pipe up to this size is never interleaved with another writer's. */
export const PIPE_ATOMIC_BYTES = 4096;

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
  /** Why the proxy answered as it did, when it refused a request itself (e.g. header_timeout). */
  response_code_details?: string | undefined;
}

export interface AccessLogOptions {
  enabled: boolean;
  /** A stream (anything with write(string)), or a file descriptor (default 1, stdout) written in batches. */
  destination?: LineSink | number;
  /** Longest a line waits before it is written, ms (default 100; Envoy flushes its access log every 1 s). */
  flushIntervalMs?: number;
  /**
   * Other processes (--workers) write to the same descriptor. When it is a pipe or socket, every write is
   * then whole lines of at most PIPE_BUF bytes, and a longer line is shortened (its long fields cut).
   */
  shared?: boolean;
}

export class AccessLog {
  readonly #writer: BatchWriter;
  /** The longest line one write may carry, when the destination is shared (see `shared`). */
  readonly #maxLineBytes: number | undefined;
  #enabled: boolean;

  constructor(opts: AccessLogOptions) {
    this.#enabled = opts.enabled;
    const destination = opts.destination ?? 1;
    this.#maxLineBytes =
      opts.shared && typeof destination === 'number' && isPipeOrSocket(destination)
        ? PIPE_ATOMIC_BYTES
        : undefined;
    this.#writer = new BatchWriter({
      destination,
      ...(opts.flushIntervalMs === undefined ? {} : { flushIntervalMs: opts.flushIntervalMs }),
      ...(this.#maxLineBytes === undefined ? {} : { atomicWriteBytes: this.#maxLineBytes }),
    });
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Lines dropped because the destination could not keep up (or failed). */
  get dropped(): number {
    return this.#writer.dropped;
  }

  /** Turns logging on or off (the snapshot's telemetry.accessLog, or --no-access-log). */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
  }

  /** Queues one line; never blocks and never throws for a slow or broken destination. */
  log(entry: AccessLogEntry): void {
    if (!this.#enabled) return;
    const max = this.#maxLineBytes;
    let line = formatLine(entry);
    // A UTF-16 unit takes at most 3 bytes in UTF-8, so short lines need no byte count.
    if (max !== undefined && line.length * 3 > max && Buffer.byteLength(line) > max)
      line = shortenedLine(entry, max);
    if (line !== '') this.#writer.write(line);
  }

  /** Writes out whatever is buffered (call before exit, e.g. after draining). */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  /** Flushes, then closes a file descriptor this log was given (stdout and stderr themselves stay open). */
  async close(): Promise<void> {
    this.#enabled = false;
    await this.#writer.close();
  }
}

function isPipeOrSocket(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

/** Fields a client controls and that can be long; cut first when a line must fit in one atomic write. */
const LONG_FIELDS = ['path', 'authority', 'user_agent', 'x_request_id', 'upstream_host'] as const;

/** The entry's line with its long fields cut (marked with "..."), or "" (dropped) if even that is too long. */
export function shortenedLine(entry: AccessLogEntry, maxBytes: number): string {
  for (const keep of [512, 64]) {
    const cut: AccessLogEntry = { ...entry };
    for (const field of LONG_FIELDS) {
      const value = cut[field];
      if (value !== undefined && value.length > keep) cut[field] = `${value.slice(0, keep)}...`;
    }
    const line = formatLine(cut);
    if (Buffer.byteLength(line) <= maxBytes) return line;
  }
  return '';
}

/** A JSON string literal, or null. */
function text(value: string | undefined): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}

/** The line for one entry: the access tag first, then Envoy's fields in a fixed order. */
export function formatLine(e: AccessLogEntry): string {
  const start = typeof e.start_time === 'number' ? isoTime(e.start_time) : e.start_time.toISOString();
  return `{"log":"access","start_time":"${start}","method":${JSON.stringify(e.method)},"path":${JSON.stringify(e.path)},"protocol":${JSON.stringify(e.protocol)},"response_code":${number(e.response_code)},"response_flags":${JSON.stringify(e.response_flags)},"bytes_received":${number(e.bytes_received)},"bytes_sent":${number(e.bytes_sent)},"duration":${number(Math.round(e.duration))},"upstream_host":${text(e.upstream_host)},"upstream_cluster":${text(e.upstream_cluster)},"x_request_id":${text(e.x_request_id)},"authority":${text(e.authority)},"user_agent":${text(e.user_agent)},"downstream_remote_address":${text(e.downstream_remote_address)},"route_name":${text(e.route_name)}${e.response_code_details === undefined ? '' : `,"response_code_details":${text(e.response_code_details)}`}}\n`;
}

/** A number as JSON writes it (NaN and infinities become null). */
function number(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

// ISO 8601 times change their first 20 characters once a second: keep that prefix, append the milliseconds.
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** `new Date(ms).toISOString()`, without a Date per call. */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString();
    // Years outside 0000..9999 have a longer, signed form: no cache for those.
    if (iso.length !== 24) return new Date(ms).toISOString();
    cachedSecond = second;
    cachedPrefix = iso.slice(0, 20);
  }
  const millis = ms - second * 1000;
  if (!Number.isInteger(millis)) return new Date(ms).toISOString();
  return `${cachedPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
