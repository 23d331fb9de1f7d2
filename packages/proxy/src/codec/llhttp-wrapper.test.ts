// The Llhttp wrapper over Node's binding: fields flushed early joined in order, each message's own fields
// and trailers (also when an earlier message is still held), the method named, keep-alive and upgrade.
import { describe, expect, it } from 'vitest';
import { HeadVerdict, Llhttp, type ParsedHead } from './llhttp.ts';
import { manyFields } from './testing.ts';

/** What the wrapper hands over for a stream of bytes: heads, body text and trailers per message. */
function wrapped(kind: 'request' | 'response', verdict: number = HeadVerdict.BODY) {
  const heads: ParsedHead[] = [];
  const bodies: string[] = [];
  const trailers: string[][] = [];
  const parser = new Llhttp(kind, 8192, {
    onHead: (head) => {
      heads.push(head);
      bodies.push('');
      return verdict;
    },
    onBody: (chunk) => {
      bodies[bodies.length - 1] += chunk.toString('latin1');
    },
    onComplete: (t) => {
      trailers.push(t);
    },
  });
  return { parser, heads, bodies, trailers };
}

describe('the wrapper (Llhttp) over the binding', () => {
  it('joins fields flushed early with the rest, in order, and the target', () => {
    const { parser, heads } = wrapped('request');
    parser.execute(Buffer.from(`GET /t HTTP/1.1\r\nHost: x\r\n${manyFields(70)}\r\n`));
    expect(heads).toHaveLength(1);
    expect(heads[0]?.target).toBe('/t');
    expect(heads[0]?.raw.length).toBe(2 * 71);
    expect(heads[0]?.raw.slice(-2)).toEqual(['F69', 'v69']);
  });

  it('does not mix one message’s flushed fields into the next', () => {
    const { parser, heads } = wrapped('request');
    parser.execute(
      Buffer.from(`GET /1 HTTP/1.1\r\nHost: x\r\n${manyFields(40)}\r\nGET /2 HTTP/1.1\r\nHost: y\r\n\r\n`),
    );
    expect(heads.map((h) => [h.target, h.raw.length / 2])).toEqual([
      ['/1', 41],
      ['/2', 1],
    ]);
  });

  it('hands trailers to onComplete, and none for the next message', () => {
    const { parser, bodies, trailers } = wrapped('request');
    parser.execute(
      Buffer.from(
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n' +
          'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      ),
    );
    expect(bodies).toEqual(['abc', '']);
    expect(trailers).toEqual([['T', '1'], []]);
  });

  it('gives each message its own trailers, also when an earlier one is still held (pipelining)', () => {
    const { parser, heads, trailers } = wrapped('request');
    parser.execute(
      Buffer.from(
        'POST /1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' +
          'POST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 2\r\n\r\n' +
          'GET /3 HTTP/1.1\r\nHost: z\r\n\r\n',
      ),
    );
    expect(trailers).toEqual([[], ['T', '2'], []]);
    expect(heads.map((h) => [h.target, h.raw])).toEqual([
      ['/1', ['Host', 'x', 'Transfer-Encoding', 'chunked']],
      ['/2', ['Host', 'x', 'Transfer-Encoding', 'chunked']],
      ['/3', ['Host', 'z']],
    ]);
  });

  it('names the method and marks keep-alive and upgrade', () => {
    const { parser, heads } = wrapped('request', HeadVerdict.UPGRADE);
    parser.execute(Buffer.from('CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n'));
    expect(heads[0]).toMatchObject({ method: 'CONNECT', target: 'h:443', upgrade: true, keepAlive: true });
    const { parser: response, heads: responses } = wrapped('response');
    response.execute(Buffer.from('HTTP/1.1 200 Fine\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'));
    expect(responses[0]).toMatchObject({ status: 200, reason: 'Fine', keepAlive: false, versionMinor: 1 });
  });
});
