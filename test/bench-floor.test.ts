// Cross-process: the benchmark's node:net + llhttp floor (bench/apps/llhttp-floor.mjs) is a real proxy, so its
// row means something: heads and bodies both ways, keep-alive reuse, pipelining in order, re-framed bodies,
// HEAD, 100-continue, a malformed request refused and a dead upstream answered 502. Addresses 127.0.137.x.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange, readUntil } from './support/raw.ts';
import { startUpstream, type TestUpstream } from './support/upstream.ts';

const FLOOR = new URL('../bench/apps/llhttp-floor.mjs', import.meta.url).pathname;
const ADDR = '127.0.137.1';

interface Floor {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the floor in front of `upstream` on a free port of ADDR; resolves once it says it listens. */
async function startFloor(upstream: string): Promise<Floor> {
  const child = spawn(process.execPath, [FLOOR, '--listen', `${ADDR}:0`, '--upstream', upstream], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening on [\d.]+:(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`llhttp-floor exited with ${code}`)));
  });
  return {
    port,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

let up: TestUpstream;
let floor: Floor;
/** Upstream connections accepted, to see keep-alive reuse. */
let upstreamConnections = 0;

beforeAll(async () => {
  up = await startUpstream('up', ADDR);
  up.server.on('connection', () => {
    upstreamConnections += 1;
  });
  floor = await startFloor(`http://${ADDR}:${up.port}`);
});

afterAll(async () => {
  await floor?.stop();
  await up?.close();
});

const raw = (bytes: string | string[], waitMs = 1000) => rawExchange(ADDR, floor.port, bytes, waitMs);

describe('llhttp floor', () => {
  it('forwards a request and its answer, drops hop-by-hop fields and reuses the upstream connection', async () => {
    up.handle((req, res) => {
      req.resume();
      res.writeHead(201, { 'x-answer': 'yes', 'content-length': 5 });
      res.end('hello');
    });
    const before = upstreamConnections;
    const out = await raw(
      'GET /one?q=1 HTTP/1.1\r\nHost: svc\r\nX-Mine: 1\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n' +
        'GET /two HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n',
    );
    expect(out.match(/HTTP\/1\.1 201 Created\r\n/g)).toHaveLength(2);
    expect(out).toMatch(/x-answer: yes\r\n/);
    expect(out.endsWith('hello')).toBe(true);
    const [first, second] = up.seen.slice(-2);
    expect(first?.url).toBe('/one?q=1');
    expect(first?.headers['x-mine']).toBe('1');
    expect(first?.headers['keep-alive']).toBeUndefined();
    expect(second?.url).toBe('/two');
    expect(upstreamConnections - before).toBeLessThanOrEqual(1);
  });

  it('answers pipelined requests in order even when the first answer is slower', async () => {
    up.handle((req, res) => {
      req.resume();
      const delay = req.url === '/slow' ? 200 : 0;
      setTimeout(() => res.end(req.url), delay);
    });
    const out = await raw(
      'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    expect(out.indexOf('/slow')).toBeGreaterThan(0);
    expect(out.indexOf('/fast')).toBeGreaterThan(out.indexOf('/slow'));
  });

  it('passes a sized request body as it is and re-frames a chunked one', async () => {
    const bodies: string[] = [];
    up.handle((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        bodies.push(`${req.headers['transfer-encoding'] ?? req.headers['content-length']}:${body}`);
        res.end('ok');
      });
    });
    await raw('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world');
    await raw([
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhel',
      'lo\r\n6;ext=1\r\n world\r\n0\r\n\r\n',
    ]);
    expect(bodies).toEqual(['11:hello world', 'chunked:hello world']);
  });

  it('answers HEAD without waiting for a body and keeps the connection usable', async () => {
    up.handle((req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1000));
    });
    const out = await raw(
      'HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    expect(out.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(out.endsWith('x'.repeat(1000))).toBe(true);
  });

  it('relays 100 Continue before the final answer', async () => {
    up.handle((req, res) => {
      req.resume();
      req.on('end', () => res.end('done'));
    });
    const socket = connect({ host: ADDR, port: floor.port });
    socket.write(
      'PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n',
    );
    await readUntil(socket, /HTTP\/1\.1 100 Continue\r\n\r\n/);
    const final = readUntil(socket, /done$/);
    socket.write('data');
    expect(await final).toMatch(/HTTP\/1\.1 200 OK/);
    socket.destroy();
  });

  it('refuses a malformed request with 400 and never forwards it', async () => {
    const seen = up.seen.length;
    const out = await raw('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(up.seen.length).toBe(seen);
  });
});

describe('llhttp floor, upstream misbehaving', () => {
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    // Answers with a body that ends when it closes the connection (no length, not chunked).
    server = createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close'));
    });
    server.listen(0, ADDR);
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });

  afterAll(() => {
    server.close();
  });

  it('turns a close-delimited body into a chunked one and keeps the client connection', async () => {
    const closing = await startFloor(`http://${ADDR}:${port}`);
    try {
      const out = await rawExchange(
        ADDR,
        closing.port,
        'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
      );
      expect(out.match(/transfer-encoding: chunked\r\n/g)).toHaveLength(2);
      expect(out.match(/b\r\nuntil close\r\n0\r\n\r\n/g)).toHaveLength(2);
    } finally {
      await closing.stop();
    }
  });

  it('answers 502 when the upstream does not listen', async () => {
    const dead = await startFloor(`http://${ADDR}:1`);
    try {
      const out = await rawExchange(ADDR, dead.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
      expect(out).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    } finally {
      await dead.stop();
    }
  });
});
