// ServerConnection on a real loopback socket: back-pressure on request bodies read in consume mode, the
// per-connection request limit and Connection: close under pipelining, a client gone mid-body, and
// Expect: 100-continue.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../upstream/testing.ts';
import { ServerConnection } from './server-connection.ts';
import type { BodySink, CodecLimits, DownstreamExchange, ExchangeHandler } from './types.ts';

const LIMITS: CodecLimits = {
  maxHeaderBytes: 60 * 1024,
  maxHeaderCount: 100,
  maxUrlBytes: 16 * 1024,
  headerTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  maxRequestsPerConnection: 0,
};

let server: Server | undefined;
const sockets: Socket[] = [];
/** The server side of the latest connection, for its timers. */
let latest: ServerConnection | undefined;

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server whose connections run the codec with `handler`; returns a connected client. */
async function serve(handler: Partial<ExchangeHandler>, limits: Partial<CodecLimits> = {}): Promise<Socket> {
  const full: ExchangeHandler = { onRequest: () => {}, onTunnel: () => {}, onRefused: () => {}, ...handler };
  server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    latest = new ServerConnection(socket, { ...LIMITS, ...limits }, full, Date.now(), () => {});
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const client = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  sockets.push(client);
  client.on('error', () => {});
  await new Promise((r) => client.once('connect', r));
  return client;
}

/** Answers 200 with the request's target as the body, once the request body is in. */
function answerTarget(exchange: DownstreamExchange): void {
  exchange.readBody({
    data: () => true,
    end: () => {
      const body = Buffer.from(exchange.target);
      exchange.head(200, 'OK', [], body.length);
      exchange.write(body);
      exchange.end();
    },
  });
}

/** Everything the client receives until the server closes. */
function untilClosed(client: Socket): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    client.on('data', (d) => {
      out += d.toString('latin1');
    });
    client.on('close', () => resolve(out));
  });
}

describe('request body back-pressure', () => {
  it('a full sink stops reading from the socket, and resuming lets the rest through', async () => {
    let exchange: DownstreamExchange | undefined;
    let taken = 0;
    let full = true;
    let ended = false;
    const sink: BodySink = {
      data: (chunk) => {
        taken += chunk.length;
        return !full;
      },
      end: () => {
        ended = true;
      },
    };
    const client = await serve({
      onRequest: (e) => {
        exchange = e;
        e.readBody(sink);
      },
    });
    const size = 64 * 1024 * 1024;
    client.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
    const chunk = Buffer.alloc(256 * 1024);
    let sent = await pushUntilStalled(client, size);
    expect(sent).toBeLessThan(size / 4);
    expect(exchange?.bodyBytes ?? 0).toBeLessThan(1024 * 1024);
    full = false;
    exchange?.resumeBody();
    while (sent < size) {
      sent += chunk.length;
      if (!client.write(chunk)) await new Promise((r) => client.once('drain', r));
    }
    await new Promise<void>((resolve) => {
      const check = (): void => (ended ? resolve() : void setTimeout(check, 10));
      check();
    });
    expect(taken).toBe(size);
  });
});

describe('bodies that wait', () => {
  it('a pipelined request’s body is not buffered without bound while the one ahead is answered', async () => {
    const exchanges: DownstreamExchange[] = [];
    const client = await serve({ onRequest: (e) => exchanges.push(e) });
    const size = 64 * 1024 * 1024;
    client.write(
      `GET /slow HTTP/1.1\r\nHost: x\r\n\r\nPOST /next HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`,
    );
    const sent = await pushUntilStalled(client, size);
    expect(sent).toBeLessThan(size / 4);
    expect(exchanges.map((e) => e.target)).toEqual(['/slow']);
    // The first is answered; the second takes its turn and its body flows once it is read.
    const first = exchanges[0] as DownstreamExchange;
    first.head(200, '', [], 0);
    first.end();
    await until('the second request', () => exchanges.length === 2);
    let taken = 0;
    let ended = false;
    (exchanges[1] as DownstreamExchange).readBody({
      data: (chunk) => {
        taken += chunk.length;
        return true;
      },
      end: () => {
        ended = true;
      },
    });
    const rest = Buffer.alloc(size - sent);
    client.write(rest);
    await until('the whole body', () => ended, 10_000);
    expect(taken).toBe(size);
  });

  it('a body that arrives before anyone reads it (the upstream still connecting) is held only so far', async () => {
    let exchange: DownstreamExchange | undefined;
    const client = await serve({ onRequest: (e) => (exchange = e) });
    const size = 64 * 1024 * 1024;
    client.write(`POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
    const sent = await pushUntilStalled(client, size);
    expect(sent).toBeLessThan(size / 4);
    expect(exchange?.bodyBytes ?? 0).toBeLessThan(4 * 1024 * 1024);
    let taken = 0;
    let ended = false;
    exchange?.readBody({
      data: (chunk) => {
        taken += chunk.length;
        return true;
      },
      end: () => {
        ended = true;
      },
    });
    client.write(Buffer.alloc(size - sent));
    await until('the whole body', () => ended, 10_000);
    expect(taken).toBe(size);
  });
});

describe('maxRequestsPerConnection', () => {
  it('with pipelined requests, answers the first N in order and closes after the Nth', async () => {
    const seen: string[] = [];
    const client = await serve(
      {
        onRequest: (e) => {
          seen.push(e.target);
          answerTarget(e);
        },
      },
      { maxRequestsPerConnection: 2 },
    );
    const closed = untilClosed(client);
    client.write([1, 2, 3, 4].map((i) => `GET /r${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    const out = await closed;
    expect(seen).toEqual(['/r1', '/r2']);
    const heads = out.split('\r\n\r\n').filter((p) => p.includes('HTTP/1.1'));
    expect(heads.map((h) => /connection: close/i.test(h))).toEqual([false, true]);
  });
});

describe('timeouts', () => {
  it('a kept-alive connection answered at once is idle, not waiting for a head: no 408 after the header timeout', async () => {
    const client = await serve({ onRequest: answerTarget }, { headerTimeoutMs: 100, idleTimeoutMs: 5000 });
    let out = '';
    client.on('data', (d) => {
      out += d.toString('latin1');
    });
    client.write('GET /quick HTTP/1.1\r\nHost: x\r\n\r\n');
    await until('the answer', () => out.endsWith('/quick'));
    latest?.checkTimeouts(Date.now() + 1000);
    await new Promise((r) => setTimeout(r, 50));
    expect(out).not.toContain('408');
    expect(latest?.phase).toBe('idle');
    latest?.checkTimeouts(Date.now() + 6000);
    await new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect(out).not.toContain('408');
  });

  it('a head that stalls gets 408 after the header timeout, also on a kept-alive connection', async () => {
    const client = await serve({ onRequest: answerTarget }, { headerTimeoutMs: 100, idleTimeoutMs: 5000 });
    let out = '';
    client.on('data', (d) => {
      out += d.toString('latin1');
    });
    client.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    await until('the answer', () => out.endsWith('/first'));
    client.write('GET /second HTTP/1.1\r\nHost');
    await until('the partial head to be read', () => latest?.phase === 'head');
    latest?.checkTimeouts(Date.now() + 1000);
    await new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect(out).toMatch(/HTTP\/1\.1 408 Request Timeout\r\n/);
  });
});

describe('Connection: close', () => {
  it('requests pipelined after it are never handed over, even when it is answered at once', async () => {
    const seen: string[] = [];
    const client = await serve({
      onRequest: (e) => {
        seen.push(e.target);
        answerTarget(e);
      },
    });
    const closed = untilClosed(client);
    client.write(
      'GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const out = await closed;
    expect(seen).toEqual(['/last']);
    expect(out).toMatch(/connection: close\r\n\r\n\/last$/);
  });
});

describe('a client gone mid-body', () => {
  it('hears of it as a disconnect, and the connection closes though nobody answered', async () => {
    const faults: string[] = [];
    const client = await serve({
      onRequest: (e) => {
        e.onFault = (fault) => faults.push(fault);
        e.readBody({ data: () => true, end: () => {} });
      },
    });
    const closed = untilClosed(client);
    client.end('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npart');
    expect(await closed).toBe('');
    expect(faults).toEqual(['disconnect']);
  });

  it('behind a pipelined request: the one ahead is still answered, then the connection closes', async () => {
    const seen: string[] = [];
    const client = await serve({
      onRequest: (e) => {
        seen.push(e.target);
        if (e.target === '/first') setTimeout(() => answerTarget(e), 50);
        else e.readBody({ data: () => true, end: () => {} });
      },
    });
    const closed = untilClosed(client);
    client.end(
      'GET /first HTTP/1.1\r\nHost: x\r\n\r\nPOST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npart',
    );
    const out = await closed;
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\/first$/);
    expect(seen).toEqual(['/first']);
  });
});

describe('Expect: 100-continue', () => {
  it('sends 100 Continue only once the body is asked for, then relays it', async () => {
    let exchange: DownstreamExchange | undefined;
    const client = await serve({
      onRequest: (e) => {
        exchange = e;
      },
    });
    let out = '';
    client.on('data', (d) => {
      out += d.toString('latin1');
    });
    client.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(out).toBe('');
    let body = '';
    exchange?.readBody({
      data: (chunk) => {
        body += chunk.toString();
        return true;
      },
      end: () => {
        exchange?.head(200, '', [], 0);
        exchange?.end();
      },
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(out).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    client.write('hello');
    await new Promise((r) => setTimeout(r, 50));
    expect(body).toBe('hello');
    expect(out).toMatch(/HTTP\/1\.1 200 OK\r\ncontent-length: 0\r\n\r\n$/);
  });
});

/** Writes up to `size` body bytes until the socket stays full for 500 ms (the server stopped reading); returns how many went. */
async function pushUntilStalled(client: Socket, size: number): Promise<number> {
  const chunk = Buffer.alloc(256 * 1024);
  let sent = 0;
  while (sent < size) {
    sent += chunk.length;
    if (client.write(chunk)) continue;
    const drained = await Promise.race([
      new Promise<boolean>((r) => client.once('drain', () => r(true))),
      new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
    ]);
    if (!drained) break;
  }
  return sent;
}
