// Property: any valid request or response stream, split at any byte boundaries, parses to the same messages
// (head, body bytes, trailers) as the generator meant, through the Llhttp wrapper as the codec uses it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeadVerdict, isParseError, Llhttp } from './llhttp.ts';
import { cuts, type ExpectedMessage, type Message, request, response, seed, split } from './testing.ts';

/** Feeds the parts to one parser and returns the messages it handed over, or the first error's code. */
function parse(
  kind: 'request' | 'response',
  parts: Buffer[],
  skipBody: boolean[],
): ExpectedMessage[] | string {
  const messages: ExpectedMessage[] = [];
  const bodies: Buffer[][] = [];
  const parser = new Llhttp(kind, 64 * 1024, {
    onHead: (head) => {
      messages.push({
        method: head.method,
        target: head.target,
        status: head.status,
        reason: head.reason,
        versionMinor: head.versionMinor,
        raw: head.raw,
        body: '',
        trailers: [],
      });
      bodies.push([]);
      return skipBody[messages.length - 1] ? HeadVerdict.SKIP_BODY : HeadVerdict.BODY;
    },
    onBody: (chunk) => {
      // The binding may reuse its buffer after the call: copy, as a sink that keeps bytes must.
      bodies[bodies.length - 1]?.push(Buffer.from(chunk));
    },
    onComplete: (trailers) => {
      const last = messages[messages.length - 1];
      if (last) last.trailers = trailers;
    },
  });
  try {
    for (const part of parts) {
      const result = parser.execute(part);
      if (isParseError(result)) return result.code;
      if (result !== part.length) return `stopped after ${result} of ${part.length} bytes`;
    }
    const end = parser.finish();
    if (isParseError(end)) return end.code;
  } finally {
    parser.free();
  }
  for (const [i, message] of messages.entries())
    message.body = Buffer.concat(bodies[i] ?? []).toString('latin1');
  return messages;
}

/** Requests and responses compare only on the fields the kind has. */
function strip(kind: 'request' | 'response', message: ExpectedMessage): Partial<ExpectedMessage> {
  const { method, target, status, reason, ...rest } = message;
  return kind === 'request' ? { method, target, ...rest } : { status, reason, ...rest };
}

/** One to three messages on one connection, and cut points anywhere in their bytes. */
function streamOf(messages: fc.Arbitrary<Message[]>) {
  return messages.chain((list) => {
    const bytes = Buffer.concat(list.map((m) => m.bytes));
    return fc.tuple(fc.constant(list), fc.constant(bytes), cuts(bytes.length));
  });
}

const RUNS = 200;

describe('split anywhere, parsed the same', () => {
  it('requests (pipelined, 0–40 extra fields, Content-Length or chunked with extensions and trailers)', () => {
    fc.assert(
      fc.property(streamOf(fc.array(request(), { minLength: 1, maxLength: 3 })), ([list, bytes, points]) => {
        const expected = list.map((m) => strip('request', m.expected));
        const skip = list.map(() => false);
        const whole = parse('request', [bytes], skip);
        const parts = parse('request', split(bytes, points), skip);
        expect(typeof whole === 'string' ? whole : whole.map((m) => strip('request', m))).toEqual(expected);
        expect(typeof parts === 'string' ? parts : parts.map((m) => strip('request', m))).toEqual(expected);
      }),
      { seed: seed(1010), numRuns: RUNS },
    );
  });

  it('responses (any status, HEAD responses skipped, the last one possibly close-delimited)', () => {
    const responses = fc
      .tuple(fc.array(response(), { maxLength: 2 }), response(40, true))
      .map(([first, last]) => [...first, last]);
    fc.assert(
      fc.property(streamOf(responses), ([list, bytes, points]) => {
        const expected = list.map((m) => strip('response', m.expected));
        const skip = list.map((m) => m.skipBody);
        const whole = parse('response', [bytes], skip);
        const parts = parse('response', split(bytes, points), skip);
        expect(typeof whole === 'string' ? whole : whole.map((m) => strip('response', m))).toEqual(expected);
        expect(typeof parts === 'string' ? parts : parts.map((m) => strip('response', m))).toEqual(expected);
      }),
      { seed: seed(1011), numRuns: RUNS },
    );
  });
});
