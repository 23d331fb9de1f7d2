// HTTP Upgrade relay (WebSocket and friends): send the upgrade request upstream with node:http; on 101
// relay the response head and splice the sockets; any other answer is forwarded and the connection closed.
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import type { Socket } from 'node:net';
import { Errors } from '@strait/api';
import {
  callHook,
  describeError,
  endThenDestroy,
  rawResponse,
  startClientSession,
  type TunnelHooks,
} from './session.ts';

export interface UpgradeTarget {
  /** An IP address (or a name; it is resolved by node:http). */
  address: string;
  port: number;
  /** The headers to send, keeping `connection: upgrade` and `upgrade`; include `host`. */
  headers: Record<string, string | string[]>;
  /** Origin-form path and query. */
  path: string;
  /** Answer 503 if the TCP connection is not up within this long. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Answer 504 if no response head arrives within this long of sending. Default 30000 ms. */
  responseTimeoutMs?: number;
  /** Destroy an upgraded connection after this long with no bytes either way. Default: no limit. */
  idleTimeoutMs?: number;
}

export interface UpgradeHooks extends TunnelHooks {
  /** The upstream's status (101 or the refusal being forwarded) and its headers. */
  onResponse?(status: number, headers: IncomingHttpHeaders): void;
}

export const DEFAULT_UPGRADE_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_UPGRADE_RESPONSE_TIMEOUT_MS = 30_000;

/**
 * Headers dropped when a refusal is forwarded: we close the connection afterwards and send the body
 * as it comes (close-delimited unless it has a content-length). `upgrade` stays: a 426 names protocols in it.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection']);

/** The status line and headers of an upstream response, as the upstream wrote them. */
function responseHead(res: IncomingMessage, status: number, dropHopByHop: boolean): Buffer {
  const lines = [`HTTP/1.1 ${status} ${res.statusMessage ?? ''}`.trimEnd()];
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (dropHopByHop && HOP_BY_HOP.has(name.toLowerCase())) continue;
    lines.push(`${name}: ${raw[i + 1] ?? ''}`);
  }
  if (dropHopByHop) lines.push('connection: close');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/**
 * Relays an upgrade request: `method` is the request's, `client` and `head` the socket and the bytes after
 * the request head; `target` says where and what to send. Never throws; the hooks report the outcome.
 */
export function relayUpgrade(
  method: string,
  client: Socket,
  head: Buffer,
  target: UpgradeTarget,
  hooks: UpgradeHooks = {},
): void {
  const session = startClientSession(client, hooks, 'client closed before the upgrade');
  if (!session) return;

  /** Answers the client ourselves when no upstream response will come. */
  const answerLocally = (status: number, message: string, code: string, err: unknown): void => {
    session.noteError(err);
    if (client.destroyed || session.stats.status !== undefined) return;
    session.stats.status = status;
    client.write(rawResponse(status, `${message}: ${describeError(err)}\n`, { 'x-strait-error': code }));
    endThenDestroy(client);
    client.resume();
  };

  let proxyReq: ClientRequest;
  try {
    proxyReq = httpRequest({
      host: target.address,
      port: target.port,
      method,
      path: target.path,
      headers: target.headers,
      agent: false,
    });
  } catch (err) {
    // node:http refuses bad header names/values synchronously.
    const spec = Errors.BAD_HTTP_REQUEST;
    answerLocally(spec.status, spec.message, spec.code, err);
    session.settle();
    return;
  }

  let connected = false;
  let answered = false;
  /** The forwarded refusal is complete: later upstream errors do not matter. */
  let finished = false;
  let timedOut = false;
  const connectTimer = setTimeout(() => {
    timedOut = true;
    proxyReq.destroy(new Error('connect timeout'));
  }, target.connectTimeoutMs ?? DEFAULT_UPGRADE_CONNECT_TIMEOUT_MS);
  const responseTimer = setTimeout(() => {
    timedOut = true;
    proxyReq.destroy(new Error('response timeout'));
  }, target.responseTimeoutMs ?? DEFAULT_UPGRADE_RESPONSE_TIMEOUT_MS);
  const clearTimers = (): void => {
    clearTimeout(connectTimer);
    clearTimeout(responseTimer);
  };

  proxyReq.on('socket', (socket: Socket) => {
    socket.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
    });
  });
  proxyReq.on('error', (err) => {
    clearTimers();
    if (finished) return;
    if (answered) {
      session.fail(err);
      return;
    }
    const spec = !connected
      ? Errors.UPSTREAM_CONNECT_FAILURE
      : timedOut
        ? Errors.UPSTREAM_TIMEOUT
        : Errors.UPSTREAM_RESET;
    answerLocally(spec.status, spec.message, spec.code, err);
  });
  // The client gives up before the upstream answered: abandon the upstream request.
  const onEarlyClientClose = (): void => {
    clearTimers();
    if (!answered) proxyReq.destroy();
  };
  client.once('close', onEarlyClientClose);

  proxyReq.on('upgrade', (res: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
    answered = true;
    clearTimers();
    client.off('close', onEarlyClientClose);
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    upstream.setNoDelay(true);
    session.track('upstream', upstream);
    const status = res.statusCode ?? 101;
    session.stats.status = status;
    callHook(() => hooks.onResponse?.(status, res.headers));
    client.write(responseHead(res, status, false));
    if (upstreamHead.length > 0) {
      session.stats.sentBytes += upstreamHead.length;
      client.write(upstreamHead);
    }
    session.start(client, upstream, head, target.idleTimeoutMs);
  });

  proxyReq.on('response', (res: IncomingMessage) => {
    answered = true;
    clearTimers();
    const status = res.statusCode ?? 502;
    session.stats.status = status;
    callHook(() => hooks.onResponse?.(status, res.headers));
    if (client.destroyed) {
      proxyReq.destroy();
      return;
    }
    client.write(responseHead(res, status, true));
    res.on('data', (chunk: Buffer) => {
      session.stats.sentBytes += chunk.length;
    });
    res.pipe(client, { end: false });
    res.on('end', () => {
      finished = true;
      endThenDestroy(client);
      proxyReq.destroy();
    });
    res.on('error', (err) => {
      if (!finished) session.fail(err);
    });
    res.on('aborted', () => {
      if (!finished) session.fail(new Error('upstream aborted the response'));
    });
    client.once('close', () => proxyReq.destroy());
    // Drain the client so its FIN is seen; nothing it sends now goes anywhere.
    client.resume();
  });

  proxyReq.end();
}
