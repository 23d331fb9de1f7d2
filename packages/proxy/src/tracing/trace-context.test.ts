// Reading W3C and B3 trace context: valid forms continue the trace, malformed ones are ignored.
import { describe, expect, it } from 'vitest';
import { HeaderList } from '../codec/headers.ts';
import { parseB3Single, parseTraceparent, readTraceContext } from './trace-context.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it('reads the ids and the sampled flag', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({
      format: 'w3c',
      traceId: TRACE,
      parentSpanId: SPAN,
      sampled: true,
    });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled).toBe(false);
    // Other flag bits do not matter; only the lowest one is "sampled".
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-03`)?.sampled).toBe(true);
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-02`)?.sampled).toBe(false);
  });

  it('accepts a later version with more fields, and refuses version ff', () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-extra`)?.traceId).toBe(TRACE);
    expect(parseTraceparent(`ff-${TRACE}-${SPAN}-01`)).toBeUndefined();
  });

  it.each([
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['an all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['version 00 with more fields', `00-${TRACE}-${SPAN}-01-x`],
    ['a bad flags byte', `00-${TRACE}-${SPAN}-0g`],
    ['wrong separators', `00_${TRACE}_${SPAN}_01`],
    ['nothing', ''],
  ])('ignores %s', (_what, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});

describe('B3', () => {
  it('reads the single header in all its forms', () => {
    expect(parseB3Single(`${TRACE}-${SPAN}-1`)).toEqual({
      format: 'b3',
      traceId: TRACE,
      parentSpanId: SPAN,
      sampled: true,
    });
    expect(parseB3Single(`${TRACE}-${SPAN}`)?.sampled).toBeUndefined();
    expect(parseB3Single(`${TRACE}-${SPAN}-0-${SPAN}`)?.sampled).toBe(false);
    expect(parseB3Single(`${TRACE}-${SPAN}-d`)?.sampled).toBe(true);
    // A 64-bit trace id is padded to 128 bits.
    expect(parseB3Single(`a3ce929d0e0e4736-${SPAN}-1`)?.traceId).toBe(`0000000000000000a3ce929d0e0e4736`);
    expect(parseB3Single('0')).toEqual({ format: 'b3', traceId: '', parentSpanId: '', sampled: false });
    expect(parseB3Single('x')).toBeUndefined();
    expect(parseB3Single(`${TRACE}-${SPAN}-yes`)).toBeUndefined();
    expect(parseB3Single(`${TRACE}-short-1`)).toBeUndefined();
  });

  it('reads the x-b3-* headers', () => {
    const headers = new HeaderList(['X-B3-TraceId', TRACE, 'X-B3-SpanId', SPAN, 'X-B3-Sampled', '1']);
    expect(readTraceContext(headers)).toEqual({
      format: 'b3multi',
      traceId: TRACE,
      parentSpanId: SPAN,
      sampled: true,
    });
    const debug = new HeaderList(['x-b3-traceid', TRACE, 'x-b3-spanid', SPAN, 'x-b3-flags', '1']);
    expect(readTraceContext(debug)?.sampled).toBe(true);
    expect(readTraceContext(new HeaderList(['x-b3-sampled', '0']))?.sampled).toBe(false);
    expect(readTraceContext(new HeaderList(['x-b3-traceid', TRACE]))).toBeUndefined();
  });
});

describe('readTraceContext', () => {
  it('prefers traceparent, then b3, then x-b3-*', () => {
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const all = new HeaderList([
      'x-b3-traceid',
      other,
      'x-b3-spanid',
      SPAN,
      'b3',
      `${other}-${SPAN}-1`,
      'traceparent',
      `00-${TRACE}-${SPAN}-01`,
    ]);
    expect(readTraceContext(all)?.format).toBe('w3c');
    const b3Only = new HeaderList(['x-b3-traceid', other, 'x-b3-spanid', SPAN, 'b3', `${TRACE}-${SPAN}-1`]);
    expect(readTraceContext(b3Only)?.traceId).toBe(TRACE);
  });

  it('falls through a malformed traceparent to B3, and gives undefined for no context', () => {
    const headers = new HeaderList(['traceparent', 'garbage', 'b3', `${TRACE}-${SPAN}-1`]);
    expect(readTraceContext(headers)?.format).toBe('b3');
    expect(readTraceContext(new HeaderList(['host', 'x']))).toBeUndefined();
  });
});
