// The waterfall layout straitctl and the console share: tree order, depth, offsets, orphans as roots.
import { describe, expect, it } from 'vitest';
import { type TraceSpan, waterfall } from './traces.ts';

function span(spanId: string, parentSpanId: string, startMs: number, durationMs: number): TraceSpan {
  return {
    spanId,
    parentSpanId,
    name: spanId,
    kind: 'server',
    service: 's',
    startMs,
    durationMs,
    error: false,
    attributes: {},
  };
}

describe('waterfall', () => {
  it('puts each parent before its children, siblings by start, with depth and offset', () => {
    const { rows, totalMs } = waterfall({
      traceId: 't',
      spans: [
        span('c2', 'root', 1030, 5),
        span('g1', 'c1', 1012, 3),
        span('root', '', 1000, 50),
        span('c1', 'root', 1010, 10),
        span('orphan', 'missing', 1040, 20),
      ],
    });
    expect(rows.map((r) => [r.span.spanId, r.depth, r.offsetMs])).toEqual([
      ['root', 0, 0],
      ['c1', 1, 10],
      ['g1', 2, 12],
      ['c2', 1, 30],
      ['orphan', 0, 40],
    ]);
    expect(totalMs).toBe(60);
  });

  it('draws an empty trace as nothing', () => {
    expect(waterfall({ traceId: 't', spans: [] })).toEqual({ rows: [], totalMs: 0 });
  });
});
