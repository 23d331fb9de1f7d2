// CONNECT tunnels: open a TCP connection to the checked address, answer 200, then splice bytes both
// ways until either side closes. Failures answer 503; nothing here ever throws.
import { connect as netConnect, type Socket } from 'node:net';
import { Errors } from '@strait/api';
import {
  describeError,
  endThenDestroy,
  rawResponse,
  startClientSession,
  type TunnelHooks,
  type TunnelSession,
  type TunnelStats,
} from './session.ts';

export type { TunnelHooks, TunnelStats };

export interface TunnelTarget {
  /** An IP address (from the egress decision or the cluster's endpoint). */
  address: string;
  port: number;
  /** Give up connecting after this long and answer 503. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Destroy the tunnel after this long with no bytes either way. Default: no idle limit. */
  idleTimeoutMs?: number;
  /**
   * When address:port is another HTTP proxy (the egress gateway): the `host:port` to CONNECT to through
   * it. The client gets its 200 only once that proxy has said 200; a refusal is passed on as it is.
   */
  connectThrough?: string;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

const ESTABLISHED = Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\n', 'latin1');

/**
 * Tunnels a CONNECT request. `client` and `head` come from the server's 'connect' event.
 * The hooks report the open and, once both sides have closed, the byte counts.
 */
export function openTunnel(
  client: Socket,
  head: Buffer,
  target: TunnelTarget,
  hooks: TunnelHooks = {},
): void {
  const session = startClientSession(client, hooks, 'client closed before the tunnel opened');
  if (!session) return;

  let upstream: Socket;
  try {
    upstream = netConnect({ host: target.address, port: target.port });
  } catch (err) {
    // Bad address or port: a synchronous throw from net.connect.
    failBeforeOpen(client, session, err);
    session.settle();
    return;
  }
  upstream.pause();
  upstream.setNoDelay(true);
  const connectTimer = setTimeout(() => {
    upstream.destroy(new Error('connect timeout'));
  }, target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);

  const onConnectError = (err: Error): void => {
    clearTimeout(connectTimer);
    failBeforeOpen(client, session, err);
  };
  upstream.on('error', onConnectError);
  // The client gives up first: drop the half-made upstream connection.
  const onEarlyClientClose = (): void => {
    clearTimeout(connectTimer);
    upstream.destroy();
  };
  client.once('close', onEarlyClientClose);
  // Both sides share one report: the session waits for the upstream close as well.
  upstream.once('close', () => {
    clearTimeout(connectTimer);
    session.settle();
  });

  upstream.once('connect', () => {
    clearTimeout(connectTimer);
    upstream.off('error', onConnectError);
    client.off('close', onEarlyClientClose);
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    session.track('upstream', upstream);
    const established = (early: Buffer): void => {
      session.stats.status = 200;
      client.write(ESTABLISHED);
      if (early.length > 0) {
        session.stats.sentBytes += early.length;
        client.write(early);
      }
      session.start(client, upstream, head, target.idleTimeoutMs);
    };
    if (target.connectThrough === undefined) established(EMPTY);
    else askProxy(client, upstream, session, target.connectThrough, established);
  });
}

const EMPTY = Buffer.alloc(0);
const MAX_PROXY_ANSWER_HEAD = 16 * 1024;

/** Sends CONNECT to the proxy at the other end of `upstream` and waits for its answer's head. */
function askProxy(
  client: Socket,
  upstream: Socket,
  session: TunnelSession,
  authority: string,
  established: (early: Buffer) => void,
): void {
  let buffered = EMPTY;
  const timer = setTimeout(() => {
    failBeforeOpen(client, session, new Error('the next proxy did not answer CONNECT'));
    upstream.destroy();
  }, DEFAULT_CONNECT_TIMEOUT_MS);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buffered.length > MAX_PROXY_ANSWER_HEAD) upstream.destroy(new Error('oversize CONNECT answer'));
      return;
    }
    clearTimeout(timer);
    upstream.off('data', onData);
    upstream.pause();
    const status = Number(buffered.subarray(9, 12).toString('latin1'));
    if (status === 200) {
      established(buffered.subarray(end + 4));
      return;
    }
    // The next proxy refused (e.g. its 403 naming the host): the client reads that answer itself.
    session.stats.status = status;
    client.write(buffered);
    endThenDestroy(client);
    client.resume();
    upstream.destroy();
  };
  upstream.on('data', onData);
  upstream.once('close', () => clearTimeout(timer));
  upstream.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  upstream.resume();
}

/** Answers 503 on a CONNECT whose upstream could not be reached, and records why. */
function failBeforeOpen(client: Socket, session: TunnelSession, err: unknown): void {
  session.noteError(err);
  if (client.destroyed || session.stats.status !== undefined) return;
  session.stats.status = Errors.UPSTREAM_CONNECT_FAILURE.status;
  client.write(
    rawResponse(
      Errors.UPSTREAM_CONNECT_FAILURE.status,
      `${Errors.UPSTREAM_CONNECT_FAILURE.message}: ${describeError(err)}\n`,
      { 'x-strait-error': Errors.UPSTREAM_CONNECT_FAILURE.code },
    ),
  );
  endThenDestroy(client);
  client.resume();
}

/**
 * Answers a raw socket (a refused CONNECT or upgrade, a malformed request, a connection over the limit)
 * with a complete HTTP response, e.g. 403 with `denyBody(decision)`, and closes it: politely, then for
 * sure after a short linger, even if the client never reads. Safe on a socket that is already gone.
 */
export function answerAndClose(
  client: Socket,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  client.on('error', () => {
    // The client may vanish while we answer; there is nobody left to tell.
  });
  if (client.destroyed) return;
  client.write(rawResponse(status, body, headers));
  endThenDestroy(client);
  client.resume();
}
