// Property: random mutations of a valid request head, sent to a real ServerConnection over a loopback
// socket, never crash the process and never become two requests; each ends as the one request a strict
// parser reads in the bytes, or as a 4xx, or (a head cut short) as a plain close.
import { connect, createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isParseError, Llhttp } from './llhttp.ts';
import { ServerConnection } from './server-connection.ts';
import { type Message, request, seed } from './testing.ts';
import type { CodecLimits, DownstreamExchange, ExchangeHandler } from './types.ts';

const LIMITS: CodecLimits = {
  maxHeaderBytes: 60 * 1024,
  maxHeaderCount: 10_000,
  maxUrlBytes: 60 * 1024,
  headerTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  maxRequestsPerConnection: 0,
};

/** Pieces a mutation inserts: framing, whitespace and separators that smuggling probes are made of. */
const PIECES = [
  '\r',
  '\n',
  '\r\n',
  '\r\n\r\n',
  ' ',
  '\t',
  '\0',
  ':',
  ',',
  ';',
  '\x7f',
  '\xff',
  'chunked',
  ' chunked',
  'Transfer-Encoding: chunked\r\n',
  'Transfer-Encoding: xchunked\r\n',
  'Transfer-Encoding: chunked, identity\r\n',
  'Transfer-Encoding:\tchunked\r\n',
  'Content-Length: 0\r\n',
  'Content-Length: 5\r\n',
  'Content-Length: -1\r\n',
  'Content-Length: 99999999999999999999\r\n',
  'Expect: 100-continue\r\n',
  'Connection: close\r\n',
  'Host: other\r\n',
  ' folded\r\n',
  'HTTP/1.0',
  '0\r\n\r\n',
];

type Mutation =
  | { op: 'flip'; at: number; byte: number }
  | { op: 'delete'; at: number; length: number }
  | { op: 'insert'; at: number; piece: string }
  | { op: 'case'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), piece: fc.constantFrom(...PIECES) }),
  fc.record({ op: fc.constant('case' as const), at: fc.nat() }),
);

/** Applies mutations inside the head only (positions wrap to its length); the body stays as it was. */
function mutate(message: Message, mutations: Mutation[]): Buffer {
  let head = Buffer.from(message.bytes.subarray(0, message.headLength));
  for (const m of mutations) {
    const at = m.at % (head.length + 1);
    if (m.op === 'flip' && at < head.length) head[at] = m.byte;
    else if (m.op === 'delete') head = Buffer.concat([head.subarray(0, at), head.subarray(at + m.length)]);
    else if (m.op === 'insert')
      head = Buffer.concat([head.subarray(0, at), Buffer.from(m.piece, 'latin1'), head.subarray(at)]);
    else if (m.op === 'case' && at < head.length) head[at] = (head[at] as number) ^ 0x20;
  }
  return Buffer.concat([head, message.bytes.subarray(message.headLength)]);
}

/** What a fresh strict parser reads in the bytes: how many heads, and whether it met an error. */
function reference(bytes: Buffer): { heads: string[]; error: string | undefined } {
  const heads: string[] = [];
  const parser = new Llhttp('request', LIMITS.maxHeaderBytes, {
    onHead: (head) => {
      heads.push(`${head.method} ${head.target}`);
      return head.upgrade ? 2 : 0;
    },
    onBody: () => {},
    onComplete: () => {},
  });
  const result = parser.execute(bytes);
  parser.free();
  return { heads, error: isParseError(result) ? result.code : undefined };
}

/** One client's outcome: what the handler saw, and the status lines that came back. */
interface Outcome {
  requests: string[];
  statuses: number[];
}

let server: Server;
const open = new Set<Socket>();
let port = 0;
let seen: string[] = [];

/** Answers each request once its body is in, like a router whose upstream says 200 at once. */
const handler: ExchangeHandler = {
  onRequest(exchange: DownstreamExchange) {
    seen.push(`${exchange.method} ${exchange.target}`);
    exchange.readBody({
      data: () => true,
      end: () => {
        exchange.head(200, 'OK', [], 2);
        exchange.write(Buffer.from('ok'));
        exchange.end();
      },
    });
  },
  onTunnel(exchange, socket) {
    seen.push(`${exchange.method} ${exchange.target}`);
    socket.destroy();
  },
  onRefused() {},
};

beforeAll(async () => {
  server = createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    new ServerConnection(socket, LIMITS, handler, Date.now(), () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const socket of open) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Sends the bytes and half-closes; resolves when the server has closed, or fails after a while. */
function exchange(bytes: Buffer): Promise<Outcome> {
  seen = [];
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let out = '';
    socket.on('data', (d) => {
      out += d.toString('latin1');
    });
    socket.on('error', () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection was left open; answered so far: ${JSON.stringify(out)}`));
    }, 1500);
    socket.on('close', () => {
      clearTimeout(timer);
      const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ requests: seen, statuses });
    });
    socket.end(bytes);
  });
}

describe('mutated request heads against a real ServerConnection', () => {
  it('never crash, never yield two requests, and end as a parsed request, a 4xx or a close', async () => {
    await fc.assert(
      fc.asyncProperty(
        request(12),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.nat({ max: 20 }),
        async (message, ops, cut) => {
          // Some clients go away before their body is all sent: the last `cut` bytes never leave.
          const whole = mutate(message, ops);
          const bytes = whole.subarray(0, Math.max(message.headLength, whole.length - cut));
          const ref = reference(bytes);
          const { requests, statuses } = await exchange(bytes);
          const context = { bytes: bytes.toString('latin1'), ref, requests, statuses };
          expect(requests.length, JSON.stringify(context)).toBeLessThanOrEqual(1);
          // The connection reads what a bare strict parser reads, no more and no less.
          expect(requests, JSON.stringify(context)).toEqual(ref.heads.slice(0, 1));
          for (const status of statuses)
            expect(
              status === 100 || status === 200 || (status >= 400 && status < 500),
              JSON.stringify(context),
            ).toBe(true);
          expect(statuses.filter((s) => s === 200).length, JSON.stringify(context)).toBeLessThanOrEqual(1);
          // Bytes a strict parser refuses before any request get a 4xx, never silence.
          if (requests.length === 0 && ref.error)
            expect(
              statuses.some((s) => s >= 400),
              JSON.stringify(context),
            ).toBe(true);
          // A head cut short gets no answer but the close.
          if (requests.length === 0 && !ref.error) expect(statuses, JSON.stringify(context)).toEqual([]);
        },
      ),
      // A connection left open costs its case 1.5 s: stop shrinking after a while and report what it has.
      { seed: seed(1012), numRuns: 300, interruptAfterTimeLimit: 40_000, markInterruptAsFailure: true },
    );
  }, 60_000);
});
