// WebSocket through relayUpgrade over real sockets: a tiny node:http proxy in front of a `ws` server,
// messages both ways, close in both directions, a refused upgrade forwarded as-is, and connect failure.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { TunnelStats } from './session.ts';
import { relayUpgrade } from './upgrade.ts';

const PROXY_ADDRESS = '127.0.102.11';
const UPSTREAM_ADDRESS = '127.0.102.12';
/** Nothing listens here. */
const DEAD_ADDRESS = '127.0.102.13';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Tracks a server's sockets so cleanup can close it even with connections open. */
async function listen(server: Server, address: string): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, address);
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  return (server.address() as AddressInfo).port;
}

interface ProxyRun {
  port: number;
  closed: Promise<TunnelStats>;
  statuses: number[];
  opened: () => number;
}

/** A proxy whose 'upgrade' handler relays to `target`, passing the client's headers on. */
async function startProxy(target: { address: string; port: number }): Promise<ProxyRun> {
  let resolveClosed: (s: TunnelStats) => void = () => {};
  const closed = new Promise<TunnelStats>((r) => {
    resolveClosed = r;
  });
  const statuses: number[] = [];
  let opened = 0;
  let reports = 0;
  const server = createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = value;
    headers['x-relayed-by'] = 'strait-test';
    relayUpgrade(
      req.method ?? 'GET',
      socket,
      head,
      { ...target, headers, path: req.url ?? '/' },
      {
        onOpen: () => {
          opened++;
        },
        onResponse: (status) => statuses.push(status),
        onClose: (stats) => {
          reports++;
          if (reports > 1) throw new Error('onClose called twice');
          resolveClosed(stats);
        },
      },
    );
  });
  const port = await listen(server, PROXY_ADDRESS);
  return { port, closed, statuses, opened: () => opened };
}

/** A `ws` server that echoes text messages upper-cased and remembers the request it saw. */
async function startWsUpstream(): Promise<{ port: number; wss: WebSocketServer; seen: IncomingMessage[] }> {
  const server = createServer((_req, res) => res.end('no'));
  const wss = new WebSocketServer({ server });
  const seen: IncomingMessage[] = [];
  wss.on('connection', (ws, req) => {
    seen.push(req);
    ws.on('message', (data, isBinary) => {
      const text = data.toString();
      if (text === 'close-please') ws.close(4000, 'server says bye');
      else ws.send(isBinary ? data : text.toUpperCase());
    });
  });
  const port = await listen(server, UPSTREAM_ADDRESS);
  cleanups.push(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
  return { port, wss, seen };
}

function openClient(url: string): WebSocket {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  cleanups.push(() => ws.terminate());
  return ws;
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(data.toString())));
}

describe('relayUpgrade', () => {
  it('relays a WebSocket: 101, messages both ways, client close propagates, stats at close', async () => {
    const upstream = await startWsUpstream();
    const proxy = await startProxy({ address: UPSTREAM_ADDRESS, port: upstream.port });
    const ws = openClient(`ws://${PROXY_ADDRESS}:${proxy.port}/chat?room=1`);
    await once(ws, 'open');
    expect(proxy.statuses).toEqual([101]);
    expect(proxy.opened()).toBe(1);
    expect(upstream.seen[0]?.url).toBe('/chat?room=1');
    expect(upstream.seen[0]?.headers['x-relayed-by']).toBe('strait-test');

    ws.send('hello');
    expect(await nextMessage(ws)).toBe('HELLO');
    const big = 'x'.repeat(100_000);
    ws.send(big);
    expect(await nextMessage(ws)).toBe(big.toUpperCase());

    const serverSide = upstream.wss.clients.values().next().value;
    if (serverSide === undefined) throw new Error('no upstream connection');
    const serverClosed = once(serverSide, 'close');
    ws.close(1000, 'client done');
    const [code, reason] = (await serverClosed) as [number, Buffer];
    expect(code).toBe(1000);
    expect(reason.toString()).toBe('client done');

    const stats = await proxy.closed;
    expect(stats.opened).toBe(true);
    expect(stats.status).toBe(101);
    // Framed and masked payloads: at least the text itself went each way.
    expect(stats.receivedBytes).toBeGreaterThan(100_005);
    expect(stats.sentBytes).toBeGreaterThan(100_005);
  });

  it('propagates a close started by the upstream', async () => {
    const upstream = await startWsUpstream();
    const proxy = await startProxy({ address: UPSTREAM_ADDRESS, port: upstream.port });
    const ws = openClient(`ws://${PROXY_ADDRESS}:${proxy.port}/`);
    await once(ws, 'open');
    const closed = once(ws, 'close');
    ws.send('close-please');
    const [code, reason] = (await closed) as [number, Buffer];
    expect(code).toBe(4000);
    expect(reason.toString()).toBe('server says bye');
    const stats = await proxy.closed;
    expect(stats.opened).toBe(true);
  });

  it('forwards a non-101 answer as-is and closes', async () => {
    const server = createServer((req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain', 'x-upstream': 'yes' });
      res.end(`no websockets for ${req.url}\n`);
    });
    const port = await listen(server, UPSTREAM_ADDRESS);
    const proxy = await startProxy({ address: UPSTREAM_ADDRESS, port });
    const ws = openClient(`ws://${PROXY_ADDRESS}:${proxy.port}/sock`);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.headers.connection).toBe('close');
    let body = '';
    for await (const chunk of res) body += chunk.toString();
    expect(body).toBe('no websockets for /sock\n');
    const stats = await proxy.closed;
    expect(proxy.statuses).toEqual([403]);
    expect(stats).toMatchObject({ opened: false, status: 403, sentBytes: body.length });
    expect(stats.error).toBeUndefined();
  });

  it('answers 503 when the upstream cannot be reached', async () => {
    const proxy = await startProxy({ address: DEAD_ADDRESS, port: 9 });
    const ws = openClient(`ws://${PROXY_ADDRESS}:${proxy.port}/`);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
    expect(res.statusCode).toBe(503);
    let body = '';
    for await (const chunk of res) body += chunk.toString();
    expect(body).toMatch(/upstream connect error: ECONNREFUSED/);
    const stats = await proxy.closed;
    expect(stats).toMatchObject({ opened: false, status: 503, error: 'ECONNREFUSED' });
    expect(proxy.statuses).toEqual([]);
  });

  it('carries both heads: bytes sent with the request and bytes sent with the 101', async () => {
    // A raw upgrade server: answers 101 plus a greeting in the same write, then echoes.
    const server = createServer();
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\nX-Path: ${req.url}\r\n\r\nwelcome;`,
      );
      if (head.length > 0) socket.write(head);
      socket.on('data', (chunk) => socket.write(chunk));
      socket.on('end', () => socket.end());
      socket.on('error', () => {});
    });
    const port = await listen(server, UPSTREAM_ADDRESS);
    const proxy = await startProxy({ address: UPSTREAM_ADDRESS, port });
    const client = connect({ host: PROXY_ADDRESS, port: proxy.port });
    client.on('error', () => {});
    cleanups.push(() => {
      client.destroy();
    });
    await once(client, 'connect');
    client.write(
      'GET /raw HTTP/1.1\r\nHost: up.example\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly;',
    );
    let text = '';
    await new Promise<void>((resolve) => {
      client.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes('welcome;early;')) resolve();
      });
    });
    expect(text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(text).toMatch(/\r\nX-Path: \/raw\r\n/);
    expect(text.endsWith('\r\n\r\nwelcome;early;')).toBe(true);
    client.end();
    const stats = await proxy.closed;
    expect(stats).toMatchObject({ opened: true, status: 101, receivedBytes: 6, sentBytes: 14 });
  });

  it('answers 400 instead of throwing when the headers are invalid', async () => {
    const server = createServer();
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      relayUpgrade(req.method ?? 'GET', socket, head, {
        address: DEAD_ADDRESS,
        port: 9,
        path: '/',
        headers: { 'bad header': 'x', connection: 'upgrade', upgrade: 'websocket' },
      });
    });
    const port = await listen(server, PROXY_ADDRESS);
    const ws = openClient(`ws://${PROXY_ADDRESS}:${port}/`);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
    expect(res.statusCode).toBe(400);
    res.resume();
  });
});
