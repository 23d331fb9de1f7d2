// CONNECT tunnels over real sockets: a tiny node:http proxy whose 'connect' handler calls openTunnel,
// an echo server behind it, byte counts, 503 on connect failure, and answerAndClose.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import {
  type AddressInfo,
  connect,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerAndClose, openTunnel, type TunnelTarget } from './connect.ts';
import type { TunnelStats } from './session.ts';

const PROXY_ADDRESS = '127.0.102.1';
const ECHO_ADDRESS = '127.0.102.2';
/** Nothing listens here: connections are refused. */
const DEAD_ADDRESS = '127.0.102.3';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** An echo server that upper-cases nothing: it returns what it gets, prefixed once with a greeting. */
async function startEcho(): Promise<{ server: NetServer; port: number; received: () => number }> {
  let received = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('hello\n');
    socket.on('data', (chunk) => {
      received += chunk.length;
      socket.write(chunk);
    });
  });
  server.listen(0, ECHO_ADDRESS);
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  return { server, port: (server.address() as AddressInfo).port, received: () => received };
}

interface ProxyRun {
  port: number;
  closed: Promise<TunnelStats>;
  opened: () => number;
}

/** A forward proxy that tunnels every CONNECT to `target`, or rejects host `denied.example`. */
async function startProxy(target: TunnelTarget): Promise<ProxyRun> {
  let resolveClosed: (s: TunnelStats) => void = () => {};
  const closed = new Promise<TunnelStats>((r) => {
    resolveClosed = r;
  });
  let opened = 0;
  let reports = 0;
  const server: Server = createServer((_req, res) => res.end('not a proxy'));
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req, socket: Socket, head: Buffer) => {
    if (req.url?.startsWith('denied.example')) {
      answerAndClose(socket, 403, 'egress denied: denied.example:443\n');
      return;
    }
    openTunnel(socket, head, target, {
      onOpen: () => {
        opened++;
      },
      onClose: (stats) => {
        reports++;
        if (reports > 1) throw new Error('onClose called twice');
        resolveClosed(stats);
      },
    });
  });
  server.listen(0, PROXY_ADDRESS);
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  return { port: (server.address() as AddressInfo).port, closed, opened: () => opened };
}

/** Opens a raw client socket to the proxy and sends `text`. */
async function rawClient(port: number, text: string | Buffer): Promise<Socket> {
  const socket = connect({ host: PROXY_ADDRESS, port });
  socket.on('error', () => {});
  cleanups.push(() => {
    socket.destroy();
  });
  await once(socket, 'connect');
  socket.write(text);
  return socket;
}

/** Reads from a socket until `predicate` holds for everything read so far. */
async function readUntil(socket: Socket, predicate: (text: string) => boolean): Promise<string> {
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (predicate(text)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('close', () =>
      predicate(text) ? resolve(text) : reject(new Error(`closed after: ${text}`)),
    );
  });
}

/** Reads everything until the peer closes. */
async function readAll(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
  });
  await once(socket, 'close');
  return text;
}

describe('openTunnel', () => {
  it('answers 200, carries bytes both ways (including the head) and reports counts once at close', async () => {
    const echo = await startEcho();
    const proxy = await startProxy({ address: ECHO_ADDRESS, port: echo.port });
    // "early" arrives with the CONNECT request itself, so the server hands it to us as `head`.
    const client = await rawClient(
      proxy.port,
      `CONNECT echo.example:443 HTTP/1.1\r\nHost: echo.example:443\r\n\r\nearly`,
    );
    const first = await readUntil(client, (t) => t.includes('hello\n') && t.includes('early'));
    expect(first.startsWith('HTTP/1.1 200 Connection Established\r\n\r\n')).toBe(true);
    expect(proxy.opened()).toBe(1);

    const payload = Buffer.alloc(256 * 1024, 'x');
    client.write(payload);
    await readUntil(client, (t) => t.length >= payload.length);
    client.end();
    const stats = await proxy.closed;
    expect(stats.opened).toBe(true);
    expect(stats.status).toBe(200);
    expect(stats.error).toBeUndefined();
    expect(stats.receivedBytes).toBe('early'.length + payload.length);
    expect(stats.sentBytes).toBe('hello\n'.length + 'early'.length + payload.length);
    expect(echo.received()).toBe('early'.length + payload.length);
  });

  it('closes the client when the upstream closes', async () => {
    const sockets: Socket[] = [];
    const server = createNetServer((s) => {
      sockets.push(s);
      s.end('bye\n');
    });
    server.listen(0, ECHO_ADDRESS);
    await once(server, 'listening');
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    });
    const proxy = await startProxy({ address: ECHO_ADDRESS, port: (server.address() as AddressInfo).port });
    const client = await rawClient(
      proxy.port,
      'CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n\r\n',
    );
    const all = await readAll(client);
    expect(all).toBe('HTTP/1.1 200 Connection Established\r\n\r\nbye\n');
    const stats = await proxy.closed;
    expect(stats).toMatchObject({ sentBytes: 4, receivedBytes: 0, opened: true });
  });

  it('answers 503 and closes when the upstream refuses the connection', async () => {
    const proxy = await startProxy({ address: DEAD_ADDRESS, port: 9 });
    const client = await rawClient(
      proxy.port,
      'CONNECT dead.example:443 HTTP/1.1\r\nHost: dead.example:443\r\n\r\n',
    );
    const all = await readAll(client);
    expect(all).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(all).toMatch(/connection: close\r\n/i);
    expect(all).toMatch(/upstream connect error: ECONNREFUSED/);
    const stats = await proxy.closed;
    expect(stats).toMatchObject({
      opened: false,
      status: 503,
      error: 'ECONNREFUSED',
      sentBytes: 0,
      receivedBytes: 0,
    });
    expect(proxy.opened()).toBe(0);
  });

  it("reports once, with the client's bytes, when the client drops an open tunnel", async () => {
    const echo = await startEcho();
    const proxy = await startProxy({ address: ECHO_ADDRESS, port: echo.port });
    const client = await rawClient(
      proxy.port,
      'CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n\r\n',
    );
    await readUntil(client, (t) => t.includes('hello\n'));
    client.write('ping');
    await readUntil(client, (t) => t.includes('ping'));
    client.destroy();
    const stats = await proxy.closed;
    expect(stats).toMatchObject({ opened: true, receivedBytes: 4, sentBytes: 'hello\n'.length + 4 });
  });

  it('closes an idle tunnel when idleTimeoutMs is set', async () => {
    const echo = await startEcho();
    const proxy = await startProxy({ address: ECHO_ADDRESS, port: echo.port, idleTimeoutMs: 200 });
    const client = await rawClient(
      proxy.port,
      'CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n\r\n',
    );
    await readAll(client);
    const stats = await proxy.closed;
    expect(stats).toMatchObject({ opened: true, error: 'idle timeout' });
  });

  it('answers a synchronous connect error (bad port) with 503 instead of throwing', async () => {
    const proxy = await startProxy({ address: ECHO_ADDRESS, port: 70000 });
    const client = await rawClient(
      proxy.port,
      'CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n\r\n',
    );
    const all = await readAll(client);
    expect(all).toMatch(/^HTTP\/1\.1 503 /);
    const stats = await proxy.closed;
    expect(stats.opened).toBe(false);
    expect(stats.error).toBeDefined();
  });
});

describe('answerAndClose', () => {
  it('writes a complete error response and closes the socket', async () => {
    const proxy = await startProxy({ address: DEAD_ADDRESS, port: 9 });
    const client = await rawClient(
      proxy.port,
      'CONNECT denied.example:443 HTTP/1.1\r\nHost: denied.example:443\r\n\r\n',
    );
    const all = await readAll(client);
    const body = 'egress denied: denied.example:443\n';
    expect(all).toBe(
      `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  it('does nothing harmful on a socket that is already destroyed', () => {
    const socket = connect({ host: DEAD_ADDRESS, port: 9 });
    socket.on('error', () => {});
    socket.destroy();
    expect(() => answerAndClose(socket, 403, 'x')).not.toThrow();
  });
});
