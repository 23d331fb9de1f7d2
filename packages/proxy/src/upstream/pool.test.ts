// ConnectionPool against a scripted upstream on loopback: keep-alive reuse, idle eviction before the idle
// timeout, the connection limit with waiters served in order, connect timeouts and failures, and responses
// that end their connection.
import { createServer, Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ResponseHandler, UpstreamConnection } from './connection.ts';
import { type Acquired, ConnectionPool, type PoolSettings } from './pool.ts';
import { OK, type Script, type ScriptedUpstream, startScriptedUpstream, until } from './testing.ts';

const SETTINGS: PoolSettings = { connectTimeoutMs: 1000, idleTimeoutMs: 4000, maxConnections: undefined };

let upstream: ScriptedUpstream | undefined;
const pools: ConnectionPool[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const pool of pools.splice(0)) pool.close();
  await upstream?.close();
  upstream = undefined;
});

async function poolFor(script: Script = OK, settings: Partial<PoolSettings> = {}): Promise<ConnectionPool> {
  upstream = await startScriptedUpstream(script);
  const pool = new ConnectionPool('127.0.0.1', upstream.port, { ...SETTINGS, ...settings });
  pools.push(pool);
  return pool;
}

function acquire(pool: ConnectionPool): Promise<Acquired> {
  return new Promise((resolve) => pool.acquire(resolve));
}

async function connection(pool: ConnectionPool): Promise<UpstreamConnection> {
  const result = await acquire(pool);
  if (!('connection' in result)) throw result.error;
  return result.connection;
}

/** Runs one GET on a connection and resolves with the body once the response has ended. */
function get(connection: UpstreamConnection, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    const handler: ResponseHandler = {
      onHead: () => {},
      onData: (chunk) => {
        body += chunk.toString('latin1');
        return true;
      },
      onEnd: () => resolve(body),
      onError: (_failure, _before, err) => reject(err),
    };
    connection.send({ method: 'GET', path, raw: ['host', 'up'], hasBody: false, length: undefined }, handler);
  });
}

describe('keep-alive', () => {
  it('reuses the connection a response left idle', async () => {
    const pool = await poolFor();
    const first = await connection(pool);
    await get(first);
    expect(pool.stats).toEqual({ open: 1, idle: 1, waiting: 0 });
    const second = await connection(pool);
    expect(second).toBe(first);
    await get(second);
    expect(upstream?.peers).toHaveLength(1);
  });

  it('reuses the most recently idle connection first', async () => {
    const pool = await poolFor();
    const [a, b] = await Promise.all([connection(pool), connection(pool)]);
    await get(a as UpstreamConnection);
    await get(b as UpstreamConnection);
    expect(await connection(pool)).toBe(b);
  });

  it('does not reuse a connection whose response said Connection: close', async () => {
    const pool = await poolFor((peer) =>
      peer.socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'),
    );
    const first = await connection(pool);
    await get(first);
    expect(pool.stats.open).toBe(0);
    const second = await connection(pool);
    expect(second).not.toBe(first);
    await until('the upstream to see two connections', () => upstream?.peers.length === 2);
    await until('the first to be closed', () => upstream?.peers[0]?.closed === true);
  });

  it('does not reuse a connection after an HTTP/1.0 response', async () => {
    const pool = await poolFor((peer) => peer.socket.write('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    await get(await connection(pool));
    expect(pool.stats.open).toBe(0);
  });

  it('does not keep a connection that was reset before its response', async () => {
    const pool = await poolFor((peer) => peer.socket.destroy());
    await expect(get(await connection(pool))).rejects.toThrow();
    await until('the pool to forget it', () => pool.stats.open === 0);
    expect(pool.stats.idle).toBe(0);
  });

  it('never hands out a connection that received a response nobody asked for', async () => {
    let requests = 0;
    const pool = await poolFor(
      (peer) =>
        peer.socket.write(
          requests++ === 0
            ? 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil'
            : 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood',
        ),
      { maxConnections: 1 },
    );
    const first = await connection(pool);
    // A request waiting for the connection gets it the moment the first response ends.
    const waiting = acquire(pool);
    expect(await get(first)).toBe('ok');
    const result = await waiting;
    if (!('connection' in result)) throw result.error;
    expect(result.connection).not.toBe(first);
    expect(await get(result.connection)).toBe('good');
    expect(pool.stats.open).toBe(1);
  });

  it('does not hand out an idle connection the upstream has closed', async () => {
    const pool = await poolFor((peer) => {
      peer.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      setTimeout(() => peer.socket.end(), 20);
    });
    const first = await connection(pool);
    await get(first);
    await until('the close to be seen', () => first.closed);
    const second = await connection(pool);
    expect(second).not.toBe(first);
  });
});

describe('idle eviction', () => {
  it('closes an idle connection before idleTimeoutMs, and not long before', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    const pool = await poolFor(OK, { idleTimeoutMs: 4000 });
    await get(await connection(pool));
    expect(pool.stats.idle).toBe(1);
    vi.advanceTimersByTime(2500);
    expect(pool.stats.idle).toBe(1);
    vi.advanceTimersByTime(1000);
    // The sweep runs every second: a connection never stays idle as long as the timeout itself.
    expect(pool.stats).toEqual({ open: 0, idle: 0, waiting: 0 });
    await until('the upstream to see the close', () => upstream?.peers[0]?.closed === true);
  });

  it('never hands out a connection idle for nearly the whole timeout', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const pool = await poolFor(OK, { idleTimeoutMs: 4000 });
    const first = await connection(pool);
    await get(first);
    vi.advanceTimersByTime(3600);
    const second = await connection(pool);
    expect(second).not.toBe(first);
    expect(first.closed || first.socket.destroyed).toBe(true);
  });
});

describe('maxConnections', () => {
  it('opens no more than the limit, and serves waiters in the order they came', async () => {
    const pool = await poolFor(OK, { maxConnections: 2 });
    const order: string[] = [];
    const held = await Promise.all([connection(pool), connection(pool)]);
    const waiters = ['c', 'd', 'e'].map(
      (name) =>
        new Promise<UpstreamConnection>((resolve) =>
          pool.acquire((result) => {
            order.push(name);
            if ('connection' in result) resolve(result.connection);
          }),
        ),
    );
    expect(pool.stats).toEqual({ open: 2, idle: 0, waiting: 3 });
    await get(held[0] as UpstreamConnection);
    const c = await waiters[0];
    expect(c).toBe(held[0]);
    await get(held[1] as UpstreamConnection);
    await get(c as UpstreamConnection);
    await Promise.all([waiters[1], waiters[2]]);
    expect(order).toEqual(['c', 'd', 'e']);
    expect(upstream?.peers).toHaveLength(2);
  });

  it('a closed slot opens a new connection for the next waiter', async () => {
    const pool = await poolFor(
      (peer) => peer.socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'),
      { maxConnections: 1 },
    );
    const first = await connection(pool);
    const next = acquire(pool);
    expect(pool.stats.waiting).toBe(1);
    await get(first);
    const result = await next;
    expect('connection' in result && result.connection !== first).toBe(true);
  });

  it('a cancelled waiter is skipped', async () => {
    const pool = await poolFor(OK, { maxConnections: 1 });
    const first = await connection(pool);
    const gone = (): void => {
      throw new Error('a cancelled waiter was called');
    };
    pool.acquire(gone);
    const next = acquire(pool);
    pool.cancel(gone);
    await get(first);
    expect('connection' in (await next)).toBe(true);
  });
});

describe('connecting', () => {
  it('times out a connect that never completes', async () => {
    const never = new Socket();
    const pool = new ConnectionPool('127.0.0.1', 9, { ...SETTINGS, connectTimeoutMs: 100 }, () => never);
    pools.push(pool);
    const result = await acquire(pool);
    expect(result).toMatchObject({ failure: 'timeout' });
    expect(never.destroyed).toBe(true);
    expect(pool.stats).toEqual({ open: 0, idle: 0, waiting: 0 });
  });

  it('a refused connect is a connect failure', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const pool = new ConnectionPool('127.0.0.1', port, SETTINGS);
    pools.push(pool);
    expect(await acquire(pool)).toMatchObject({ failure: 'connect-failure' });
  });

  it('every waiter hears of a refused connect, also those beyond the connection limit', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const pool = new ConnectionPool('127.0.0.1', port, { ...SETTINGS, maxConnections: 1 });
    pools.push(pool);
    const results = await Promise.all([acquire(pool), acquire(pool), acquire(pool)]);
    expect(results.map((r) => ('failure' in r ? r.failure : 'connection'))).toEqual([
      'connect-failure',
      'connect-failure',
      'connect-failure',
    ]);
    expect(pool.stats).toEqual({ open: 0, idle: 0, waiting: 0 });
  });

  it('close() fails every waiter', async () => {
    const pool = await poolFor(OK, { maxConnections: 1 });
    await connection(pool);
    const waiting = acquire(pool);
    pool.close();
    expect(await waiting).toMatchObject({ failure: 'connect-failure' });
    expect(pool.closed).toBe(true);
  });
});
