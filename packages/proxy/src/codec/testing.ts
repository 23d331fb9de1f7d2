// Test support for the codec's property tests: fast-check generators of valid HTTP/1.1 requests and
// responses, each with the bytes a peer would send and what a parser must make of them.
import fc from 'fast-check';

/** What a parser should hand over for one message. */
export interface ExpectedMessage {
  method: string;
  target: string;
  status: number;
  reason: string;
  versionMinor: number;
  raw: string[];
  body: string;
  trailers: string[];
}

/** One generated message: its bytes on the wire, what parsing them yields, and how its head ends. */
export interface Message {
  bytes: Buffer;
  /** Where the head ends (the body, if any, starts here). */
  headLength: number;
  expected: ExpectedMessage;
  /** A response to HEAD: its parser must skip the body its fields announce. */
  skipBody: boolean;
  /** A close-delimited response body: only the last message of a connection, completed by finish(). */
  untilClose: boolean;
}

const TCHAR = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
const VCHAR = `${TCHAR}"(),/:;<=>?@[\\]{}`;
const PCHAR = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%";

const token = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...TCHAR), minLength: min, maxLength: max });

/** A field name that is not one of the framing or connection fields the generator sets itself. */
const fieldName = token(1, 16).filter(
  (n) =>
    !/^(content-length|transfer-encoding|connection|upgrade|host|expect|te|trailer|keep-alive)$/i.test(n),
);

/** A field value: visible characters with inner spaces, never starting or ending with whitespace. */
const fieldValue = fc.oneof(
  fc.constant(''),
  fc
    .array(fc.string({ unit: fc.constantFrom(...VCHAR), minLength: 1, maxLength: 12 }), {
      minLength: 1,
      maxLength: 4,
    })
    .map((words) => words.join(' ')),
);

const fields = (max: number) => fc.array(fc.tuple(fieldName, fieldValue), { maxLength: max });

/** Body bytes as latin1 text: every byte value can appear. */
const bodyText = (max: number) =>
  fc.uint8Array({ maxLength: max }).map((bytes) => Buffer.from(bytes).toString('latin1'));

const target = fc
  .tuple(
    fc.array(fc.string({ unit: fc.constantFrom(...PCHAR.replace('%', '')), maxLength: 10 }), {
      minLength: 1,
      maxLength: 5,
    }),
    fc.option(fc.string({ unit: fc.constantFrom(...PCHAR, '/', '?'), maxLength: 20 }), { nil: undefined }),
  )
  .map(([segments, query]) => `/${segments.join('/')}${query === undefined ? '' : `?${query}`}`);

/** How a body is framed on the wire. */
type Framing =
  | { kind: 'none' }
  | { kind: 'length'; body: string }
  | { kind: 'chunked'; chunks: string[]; extensions: boolean; trailers: [string, string][] };

const framing = (allowNone: boolean): fc.Arbitrary<Framing> =>
  fc.oneof(
    ...(allowNone ? [fc.constant<Framing>({ kind: 'none' })] : []),
    bodyText(300).map((body): Framing => ({ kind: 'length', body })),
    fc
      .record({
        chunks: fc.array(
          bodyText(40).filter((c) => c.length > 0),
          { maxLength: 5 },
        ),
        extensions: fc.boolean(),
        trailers: fields(3),
      })
      .map((c): Framing => ({ kind: 'chunked', ...c })),
  );

function flatten(pairs: [string, string][]): string[] {
  return pairs.flat();
}

function lines(raw: string[]): string {
  let out = '';
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return out;
}

/** The framing's own fields and its body's wire form and content. */
function frame(body: Framing): { raw: string[]; wire: string; content: string; trailers: string[] } {
  if (body.kind === 'none') return { raw: [], wire: '', content: '', trailers: [] };
  if (body.kind === 'length')
    return {
      raw: ['Content-Length', String(body.body.length)],
      wire: body.body,
      content: body.body,
      trailers: [],
    };
  let wire = '';
  for (const [i, chunk] of body.chunks.entries())
    wire += `${chunk.length.toString(16)}${body.extensions ? `;ext${i}=v` : ''}\r\n${chunk}\r\n`;
  const trailers = flatten(body.trailers);
  wire += `0\r\n${lines(trailers)}\r\n`;
  return { raw: ['Transfer-Encoding', 'chunked'], wire, content: body.chunks.join(''), trailers };
}

/** A valid request (HTTP/1.1 with Host), up to `maxFields` more fields, any body framing. */
export function request(maxFields = 40, bodies = framing(true)): fc.Arbitrary<Message> {
  return fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      target,
      host: token(1, 20),
      extra: fields(maxFields),
      body: bodies,
    })
    .map(({ method, target, host, extra, body }) => {
      const framed = frame(body);
      const raw = ['Host', host, ...flatten(extra), ...framed.raw];
      const head = `${method} ${target} HTTP/1.1\r\n${lines(raw)}\r\n`;
      return {
        bytes: Buffer.from(head + framed.wire, 'latin1'),
        headLength: head.length,
        expected: {
          method,
          target,
          status: 0,
          reason: '',
          versionMinor: 1,
          raw,
          body: framed.content,
          trailers: framed.trailers,
        },
        skipBody: false,
        untilClose: false,
      };
    });
}

/** Statuses that carry no body whatever their fields say. */
const NO_BODY = new Set([204, 304]);

/** A valid response: any status from 200 up, a reason, fields, any framing; or one to a HEAD request. */
export function response(maxFields = 40, untilClose = false): fc.Arbitrary<Message> {
  return fc
    .record({
      status: fc.integer({ min: 200, max: 599 }),
      reason: fc.oneof(
        fc.constant(''),
        fc.array(token(1, 8), { minLength: 1, maxLength: 3 }).map((w) => w.join(' ')),
      ),
      extra: fields(maxFields),
      // Always framed: an unframed response would run to the close and swallow the ones after it.
      body: framing(false),
      skipBody: fc.boolean(),
    })
    .map(({ status, reason, extra, body, skipBody }) => {
      // A body cannot follow a 204 or 304, nor a response to HEAD; those announce a length and send none.
      const bodyless = NO_BODY.has(status) || skipBody;
      const closeDelimited = untilClose && !bodyless;
      let framed = frame(body);
      if (bodyless) {
        framed =
          body.kind === 'length' && skipBody && !NO_BODY.has(status)
            ? { raw: framed.raw, wire: '', content: '', trailers: [] }
            : { raw: [], wire: '', content: '', trailers: [] };
      } else if (closeDelimited) {
        const content = body.kind === 'length' ? body.body : framed.content;
        framed = { raw: [], wire: content, content, trailers: [] };
      }
      const raw = [...flatten(extra), ...framed.raw];
      const versionMinor = closeDelimited ? 0 : 1;
      const head = `HTTP/1.${versionMinor} ${status} ${reason}\r\n${lines(raw)}\r\n`;
      return {
        bytes: Buffer.from(head + framed.wire, 'latin1'),
        headLength: head.length,
        expected: {
          method: '',
          target: '',
          status,
          reason,
          versionMinor,
          raw,
          body: framed.content,
          trailers: framed.trailers,
        },
        skipBody: skipBody && !NO_BODY.has(status),
        untilClose: closeDelimited,
      };
    });
}

/** Cut points for a buffer of `length` bytes: sorted, distinct, inside (0, length). */
export function cuts(length: number): fc.Arbitrary<number[]> {
  if (length < 2) return fc.constant([]);
  return fc
    .uniqueArray(fc.integer({ min: 1, max: length - 1 }), { maxLength: Math.min(length - 1, 40) })
    .map((points) => points.sort((a, b) => a - b));
}

/** Splits a buffer at the given points. */
export function split(bytes: Buffer, points: number[]): Buffer[] {
  const parts: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    parts.push(bytes.subarray(from, point));
    from = point;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

/** The seed for a property run: STRAIT_FC_SEED to replay a failure, else a fixed one. */
export function seed(fixed: number): number {
  const fromEnv = Number(process.env.STRAIT_FC_SEED);
  return Number.isInteger(fromEnv) && process.env.STRAIT_FC_SEED !== '' ? fromEnv : fixed;
}

/** `n` header lines `F0: v0` … in wire form, to push a head past llhttp's 32-field flush. */
export function manyFields(n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += `F${i}: v${i}\r\n`;
  return out;
}
