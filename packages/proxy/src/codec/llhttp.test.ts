// The binding test: pins down every fact llhttp.ts relies on in Node's internal HTTPParser, so that a new
// Node that changes the binding fails here, loudly and by name, rather than somewhere in the data path.
import { createRequire } from 'node:module';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HeadVerdict, isParseError, Llhttp, type ParseError } from './llhttp.ts';
import { manyFields } from './testing.ts';

const CHANGED = `Node ${process.version} changed its internal llhttp binding (_http_common.HTTPParser):`;

interface RawParser {
  [slot: number]: unknown;
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | ParseError;
  finish(): ParseError | undefined;
  close(): void;
}

const binding = createRequire(import.meta.url)('_http_common') as {
  HTTPParser: (new () => RawParser) & Record<string, unknown>;
  methods: unknown;
};
const { HTTPParser } = binding;

/** A bare binding parser whose callbacks record what they are given, in order. */
function rawParser(kind: 'REQUEST' | 'RESPONSE', verdict = 0, maxHeaderSize = 8192) {
  const calls: { slot: string; args: unknown[] }[] = [];
  const parser = new HTTPParser();
  parser.initialize(HTTPParser[kind] as number, {}, maxHeaderSize, HTTPParser.kLenientNone as number);
  const record =
    (slot: string, answer?: number) =>
    (...args: unknown[]) => {
      calls.push({ slot, args });
      return answer;
    };
  parser[HTTPParser.kOnHeaders as number] = record('headers');
  parser[HTTPParser.kOnHeadersComplete as number] = record('headersComplete', verdict);
  parser[HTTPParser.kOnBody as number] = record('body');
  parser[HTTPParser.kOnMessageComplete as number] = record('messageComplete');
  return { parser, calls };
}

describe('the binding’s shape', () => {
  it('exports HTTPParser and the method table from _http_common', () => {
    expect(typeof HTTPParser, `${CHANGED} HTTPParser is no longer a constructor`).toBe('function');
    expect(Array.isArray(binding.methods), `${CHANGED} methods is no longer an array`).toBe(true);
    const methods = binding.methods as string[];
    expect(methods.indexOf('GET'), `${CHANGED} the method table lost GET`).toBeGreaterThanOrEqual(0);
    expect(methods.indexOf('CONNECT'), `${CHANGED} the method table lost CONNECT`).toBeGreaterThanOrEqual(0);
  });

  it('has the parser kinds, callback slots and the strict (no leniency) flag', () => {
    for (const name of [
      'REQUEST',
      'RESPONSE',
      'kOnMessageBegin',
      'kOnHeaders',
      'kOnHeadersComplete',
      'kOnBody',
      'kOnMessageComplete',
      'kOnExecute',
      'kLenientNone',
    ])
      expect(typeof HTTPParser[name], `${CHANGED} HTTPParser.${name} is gone or not a number`).toBe('number');
    expect(HTTPParser.REQUEST, `${CHANGED} REQUEST and RESPONSE are the same kind`).not.toBe(
      HTTPParser.RESPONSE,
    );
    const slots = [
      'kOnMessageBegin',
      'kOnHeaders',
      'kOnHeadersComplete',
      'kOnBody',
      'kOnMessageComplete',
      'kOnExecute',
    ].map((name) => HTTPParser[name]);
    expect(new Set(slots).size, `${CHANGED} two callback slots share a number`).toBe(slots.length);
    expect(HTTPParser.kLenientNone, `${CHANGED} kLenientNone is no longer 0 (no leniency)`).toBe(0);
  });

  it('has the methods llhttp.ts calls on a parser', () => {
    const parser = new HTTPParser() as unknown as Record<string, unknown>;
    for (const name of [
      'initialize',
      'execute',
      'finish',
      'consume',
      'unconsume',
      'getCurrentBuffer',
      'close',
      'free',
    ])
      expect(typeof parser[name], `${CHANGED} parser.${name}() is gone`).toBe('function');
  });
});

describe('what the callbacks are given', () => {
  it('kOnHeadersComplete: (major, minor, fields, method index, url, status, reason, upgrade, keepAlive)', () => {
    const { parser, calls } = rawParser('REQUEST');
    const head = 'POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n';
    expect(parser.execute(Buffer.from(`${head}abc`))).toBe(head.length + 3);
    const complete = calls.find((c) => c.slot === 'headersComplete');
    const methods = binding.methods as string[];
    expect(complete?.args.slice(0, 9), `${CHANGED} kOnHeadersComplete's arguments (request)`).toEqual([
      1,
      1,
      ['Host', 'x', 'Content-Length', '3'],
      methods.indexOf('POST'),
      '/a?b=1',
      undefined,
      undefined,
      false,
      true,
    ]);
    expect(
      calls.map((c) => c.slot),
      `${CHANGED} the order of callbacks for one request`,
    ).toEqual(['headersComplete', 'body', 'messageComplete']);
    const body = calls.find((c) => c.slot === 'body');
    expect(Buffer.isBuffer(body?.args[0]), `${CHANGED} kOnBody no longer gets a Buffer first`).toBe(true);
    expect(String(body?.args[0]), `${CHANGED} kOnBody's buffer is not the body itself`).toBe('abc');
  });

  it('kOnHeadersComplete for a response: status and reason, no method or url; keep-alive false for 1.0', () => {
    const { parser, calls } = rawParser('RESPONSE');
    parser.execute(Buffer.from('HTTP/1.0 404 Not Here\r\nX-A: b\r\n\r\n'));
    const complete = calls.find((c) => c.slot === 'headersComplete');
    expect(complete?.args.slice(0, 9), `${CHANGED} kOnHeadersComplete's arguments (response)`).toEqual([
      1,
      0,
      ['X-A', 'b'],
      undefined,
      undefined,
      404,
      'Not Here',
      false,
      false,
    ]);
  });

  it('kOnMessageBegin: called at the first byte of each message, not for a CRLF between messages', () => {
    const { parser, calls } = rawParser('REQUEST');
    parser[HTTPParser.kOnMessageBegin as number] = () => calls.push({ slot: 'begin', args: [] });
    parser.execute(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\r\nG'));
    expect(
      calls.map((c) => c.slot),
      `${CHANGED} when kOnMessageBegin is called`,
    ).toEqual(['begin', 'headersComplete', 'messageComplete', 'begin']);
  });

  it('flushes fields through kOnHeaders once a head passes 32 fields, target included', () => {
    const { parser, calls } = rawParser('REQUEST');
    parser.execute(Buffer.from(`GET /long HTTP/1.1\r\nHost: x\r\n${manyFields(40)}\r\n`));
    const flushed = calls.filter((c) => c.slot === 'headers');
    expect(flushed.length, `${CHANGED} a 41-field head no longer flushes through kOnHeaders`).toBeGreaterThan(
      0,
    );
    const complete = calls.find((c) => c.slot === 'headersComplete');
    const fields = [
      ...flushed.flatMap((c) => c.args[0] as string[]),
      ...((complete?.args[2] as string[]) ?? []),
    ];
    expect(fields.length / 2, `${CHANGED} fields lost between kOnHeaders and kOnHeadersComplete`).toBe(41);
    const target = flushed.map((c) => c.args[1]).join('') + ((complete?.args[4] as string | undefined) ?? '');
    expect(target, `${CHANGED} the flushed target no longer adds up`).toBe('/long');
  });

  it('hands a chunked body’s trailers to kOnHeaders after the body, before kOnMessageComplete', () => {
    const { parser, calls } = rawParser('REQUEST');
    parser.execute(
      Buffer.from(
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT1: a\r\nT2: b\r\n\r\n',
      ),
    );
    expect(
      calls.map((c) => c.slot),
      `${CHANGED} where trailers arrive`,
    ).toEqual(['headersComplete', 'body', 'headers', 'messageComplete']);
    expect(calls[2]?.args[0], `${CHANGED} the trailers' shape`).toEqual(['T1', 'a', 'T2', 'b']);
  });
  it('after a message with trailers, flushes the next head’s fields through kOnHeaders (none in kOnHeadersComplete)', () => {
    const { parser, calls } = rawParser('REQUEST');
    parser.execute(
      Buffer.from(
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n\r\n' +
          'GET /next HTTP/1.1\r\nHost: y\r\n\r\n',
      ),
    );
    const afterFirst = calls.slice(calls.findIndex((c) => c.slot === 'messageComplete') + 1);
    expect(
      afterFirst.map((c) => c.slot),
      `${CHANGED} how a head after trailers is handed over`,
    ).toEqual(['headers', 'headersComplete', 'messageComplete']);
    expect(afterFirst[0]?.args.slice(0, 2), `${CHANGED} the flushed head after trailers`).toEqual([
      ['Host', 'y'],
      '/next',
    ]);
  });

  it('hands kOnBody a copy: the input buffer can be reused once execute() returns', () => {
    const { parser, calls } = rawParser('REQUEST');
    const input = Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
    parser.execute(input);
    input.fill(0);
    expect(
      String(calls.find((c) => c.slot === 'body')?.args[0]),
      `${CHANGED} kOnBody's buffer is a view of the input, not a copy (exchanges keep body chunks)`,
    ).toBe('abc');
  });
});

describe('what the head verdict does', () => {
  it('1 (skip body) ends a response to HEAD at its head, Content-Length notwithstanding', () => {
    const { parser, calls } = rawParser('RESPONSE', 1);
    const bytes = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n';
    expect(parser.execute(Buffer.from(bytes)), `${CHANGED} skip-body no longer parses on`).toBe(bytes.length);
    expect(
      calls.filter((c) => c.slot === 'headersComplete').map((c) => c.args[5]),
      `${CHANGED} skip-body no longer ends the message at its head`,
    ).toEqual([200, 204]);
    expect(
      calls.some((c) => c.slot === 'body'),
      `${CHANGED} skip-body still hands over a body`,
    ).toBe(false);
  });

  it('2 (upgrade) stops at the end of the head; the message completes there and the rest is not parsed', () => {
    const { parser, calls } = rawParser('REQUEST', 2);
    const head = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n';
    expect(
      parser.execute(Buffer.from(`${head}abcGET / HTTP/1.1\r\n\r\n`)),
      `${CHANGED} the upgrade verdict no longer returns the head's length`,
    ).toBe(head.length);
    expect(
      calls.map((c) => c.slot),
      `${CHANGED} the upgrade verdict no longer completes the message at its head`,
    ).toEqual(['headersComplete', 'messageComplete']);
  });

  it('Upgrade and CONNECT requests say upgrade=true and stop after their head', () => {
    for (const head of [
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n',
      'CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n',
    ]) {
      const { parser, calls } = rawParser('REQUEST');
      expect(parser.execute(Buffer.from(`${head}RAW`)), `${CHANGED} an upgrade's head length`).toBe(
        head.length,
      );
      const complete = calls.find((c) => c.slot === 'headersComplete');
      expect(complete?.args[7], `${CHANGED} upgrade flag for ${head.split(' ')[0]}`).toBe(true);
    }
  });
});

describe('errors and limits', () => {
  it('returns an Error with an HPE_* code and bytesParsed, for a head over maxHeaderSize', () => {
    const { parser } = rawParser('REQUEST', 0, 100);
    const result = parser.execute(Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(200)}\r\n\r\n`));
    expect(result instanceof Error, `${CHANGED} a parse error is no longer an Error object`).toBe(true);
    const err = result as ParseError;
    expect(err.code, `${CHANGED} maxHeaderSize no longer gives HPE_HEADER_OVERFLOW`).toBe(
      'HPE_HEADER_OVERFLOW',
    );
    expect(typeof err.bytesParsed, `${CHANGED} the error lost bytesParsed`).toBe('number');
  });

  it('is strict: CL with TE, a bad chunk size, obs-fold and bare LF are errors', () => {
    const cases: [string, string][] = [
      ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n', 'CL+TE'],
      ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'bad chunk size'],
      ['GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n', 'obs-fold'],
      ['GET / HTTP/1.1\nHost: x\n\n', 'bare LF'],
    ];
    for (const [bytes, what] of cases) {
      const { parser } = rawParser('REQUEST');
      const result = parser.execute(Buffer.from(bytes));
      expect(isParseError(result), `${CHANGED} ${what} is accepted (leniency on by default?)`).toBe(true);
    }
  });

  it('finish() completes a close-delimited body and reports a body cut short', () => {
    const ok = rawParser('RESPONSE');
    ok.parser.execute(Buffer.from('HTTP/1.0 200 OK\r\n\r\nuntil close'));
    expect(ok.parser.finish(), `${CHANGED} finish() on a close-delimited body`).toBeUndefined();
    expect(ok.calls.at(-1)?.slot, `${CHANGED} finish() no longer completes the message`).toBe(
      'messageComplete',
    );
    const cut = rawParser('RESPONSE');
    cut.parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    const err = cut.parser.finish();
    expect(isParseError(err), `${CHANGED} finish() no longer reports a body cut short`).toBe(true);
    expect(err?.code).toBe('HPE_INVALID_EOF_STATE');
  });
});

describe('consume mode on a real socket', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('reads straight from the handle, reports each read to kOnExecute with getCurrentBuffer, and unconsumes', async () => {
    const executes: { result: number | ParseError; buffer: string }[] = [];
    const targets: string[] = [];
    const afterUnconsume: string[] = [];
    let release: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    server = createServer((socket) => {
      sockets.push(socket);
      const parser: Llhttp = new Llhttp('request', 8192, {
        onHead: (head) => {
          targets.push(head.target);
          return HeadVerdict.BODY;
        },
        onBody: () => {},
        onComplete: () => {},
        onExecute: (result) => {
          executes.push({ result, buffer: parser.currentBuffer().toString('latin1') });
          if (targets.length === 2) {
            parser.unconsume();
            socket.on('data', (d) => {
              afterUnconsume.push(d.toString());
              release();
            });
          }
        },
      });
      const handle = (socket as unknown as { _handle: { isStreamBase?: boolean } })._handle;
      expect(handle.isStreamBase, `${CHANGED} a TCP socket's handle is no longer a StreamBase`).toBe(true);
      parser.consume(handle);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const client = connect({ host: '127.0.0.1', port });
    sockets.push(client);
    client.on('error', () => {});
    await new Promise((r) => client.once('connect', r));
    client.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    client.write('GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    client.write('not parsed');
    await done;
    expect(targets, `${CHANGED} consume() no longer parses from the handle`).toEqual(['/a', '/b']);
    expect(
      executes.map((e) => e.result),
      `${CHANGED} kOnExecute no longer gets each read's parsed byte count`,
    ).toEqual([28, 28]);
    expect(executes[0]?.buffer, `${CHANGED} getCurrentBuffer() is not the read being parsed`).toBe(
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(afterUnconsume.join(''), `${CHANGED} unconsume() no longer hands reads back to the socket`).toBe(
      'not parsed',
    );
  });
});
