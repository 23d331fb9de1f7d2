// The bookkeeping shared by CONNECT tunnels and upgraded connections: byte counts, the first error,
// closing both sides together, and reporting exactly once when every side has closed.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface TunnelStats {
  /** Payload bytes written to the client (upstream -> client), not counting our own response head. */
  sentBytes: number;
  /** Payload bytes read from the client (client -> upstream), including the `head` given to us. */
  receivedBytes: number;
  /** Why it ended badly (an errno code like ECONNREFUSED, or a short message); absent on a clean close. */
  error?: string;
  /** True once bytes could flow both ways (200 sent for CONNECT, 101 relayed for an upgrade). */
  opened: boolean;
  /** The status line the client was sent (200/503 for CONNECT; 101, upstream's or 502/503/504 for upgrades). */
  status?: number;
}

export interface TunnelHooks {
  /** The tunnel is open: bytes flow both ways from now on. */
  onOpen?(): void;
  /** Called once, after both sides have closed. */
  onClose?(stats: TunnelStats): void;
}

/** After one side closes, how long the other may take to finish its own close before it is destroyed. */
export const LINGER_MS = 2000;

/** Calls a hook; a hook that throws must not break the relay. */
export function callHook(fn: (() => void) | undefined): void {
  if (fn === undefined) return;
  try {
    fn();
  } catch {
    // Hooks belong to the caller; their failures are theirs to log.
  }
}

/** A short description of an error: its errno code when it has one. */
export function describeError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}

/** Ends a socket politely, then destroys it if the peer has not closed within `LINGER_MS`. */
export function endThenDestroy(socket: Duplex): void {
  if (socket.destroyed) return;
  socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** A complete HTTP/1.1 response head and body as bytes, always `Connection: close`. */
export function rawResponse(status: number, body: string, headers: Record<string, string> = {}): Buffer {
  const payload = Buffer.from(body, 'utf8');
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`];
  const all: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    ...lowerKeys(headers),
    'content-length': String(payload.length),
    connection: 'close',
  };
  for (const [name, value] of Object.entries(all)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) continue;
    lines.push(`${name}: ${value}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

export class TunnelSession {
  readonly stats: TunnelStats = { sentBytes: 0, receivedBytes: 0, opened: false };
  readonly #hooks: TunnelHooks;
  readonly #open = new Map<string, Duplex>();
  #reported = false;

  constructor(hooks: TunnelHooks) {
    this.#hooks = hooks;
  }

  /** Watches a side: its errors end the session, its close is awaited before reporting. */
  track(name: string, socket: Duplex): void {
    if (socket.destroyed) return;
    this.#open.set(name, socket);
    socket.on('error', (err: unknown) => this.fail(err));
    socket.once('close', () => {
      this.#open.delete(name);
      for (const other of this.#open.values()) endThenDestroy(other);
      this.#maybeReport();
    });
  }

  /** Records the first error and tears every side down at once. */
  fail(err: unknown): void {
    if (this.stats.error === undefined) this.stats.error = describeError(err);
    for (const socket of this.#open.values()) socket.destroy();
  }

  /** Records an error without tearing anything down (e.g. before answering the client with 503). */
  noteError(err: unknown): void {
    if (this.stats.error === undefined) this.stats.error = describeError(err);
  }

  /** Marks the tunnel open and tells the caller. */
  open(): void {
    this.stats.opened = true;
    callHook(() => this.#hooks.onOpen?.());
  }

  /** Pipes bytes both ways, counting them. Either side's end half-closes the other. */
  /**
   * The last step of every tunnel: the client's early bytes go upstream, the optional idle limit is
   * armed on both sockets, the tunnel counts as open and the two sockets are spliced.
   */
  start(client: Socket, upstream: Socket, head: Buffer, idleTimeoutMs: number | undefined): void {
    if (head.length > 0) {
      this.stats.receivedBytes += head.length;
      upstream.write(head);
    }
    if (idleTimeoutMs !== undefined) {
      for (const socket of [client, upstream]) {
        socket.setTimeout(idleTimeoutMs, () => this.fail(new Error('idle timeout')));
      }
    }
    this.open();
    this.splice(client, upstream);
  }

  splice(client: Duplex, upstream: Duplex): void {
    client.on('data', (chunk: Buffer) => {
      this.stats.receivedBytes += chunk.length;
    });
    upstream.on('data', (chunk: Buffer) => {
      this.stats.sentBytes += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
    upstream.resume();
  }

  /** Reports if nothing is open any more. Safe to call repeatedly. */
  #maybeReport(): void {
    if (this.#reported || this.#open.size > 0) return;
    this.#reported = true;
    const stats = { ...this.stats };
    callHook(() => this.#hooks.onClose?.(stats));
  }

  /** Call when no more sides will be tracked; reports if they have all closed already. */
  settle(): void {
    this.#maybeReport();
  }
}

/**
 * Starts the session for a hijacked client socket: paused until the upstream side is ready, no Nagle
 * delay, tracked for closing. Undefined (and the hooks already told) when the client is already gone.
 */
export function startClientSession(
  client: Socket,
  hooks: TunnelHooks,
  gone: string,
): TunnelSession | undefined {
  const session = new TunnelSession(hooks);
  if (client.destroyed) {
    session.noteError(gone);
    session.settle();
    return undefined;
  }
  client.pause();
  client.setNoDelay(true);
  session.track('client', client);
  return session;
}
