// Starting, continuing and propagating a trace; the sampling decision by request id.
import { describe, expect, it } from 'vitest';
import { fieldOf, HeaderList } from '../codec/headers.ts';
import { newSpanId, newTraceId } from './ids.ts';
import { RequestTrace, traceRequest } from './request-trace.ts';
import { requestIdBucket, sampledByRequestId } from './sampling.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const policy = (samplingPercent: number) => ({ samplingPercent });

describe('ids', () => {
  it('are lower-case hex of the right length, and differ', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const span = newSpanId();
      expect(span).toMatch(/^[0-9a-f]{16}$/);
      ids.add(span);
    }
    expect(ids.size).toBe(2000);
    expect(newTraceId()).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('sampling by request id', () => {
  it('reads a UUID by its first 8 hex digits and hashes anything else', () => {
    expect(requestIdBucket('00000001-0000-4000-8000-000000000000')).toBe(1);
    expect(requestIdBucket('00002710-aaaa')).toBe(0); // 10000 % 10000
    const custom = requestIdBucket('my-own-request-id');
    expect(custom).toBeGreaterThanOrEqual(0);
    expect(custom).toBeLessThan(10_000);
    expect(requestIdBucket('my-own-request-id')).toBe(custom);
  });

  it('samples the given share, the same way every time for one id', () => {
    expect(sampledByRequestId('00000063-x', 1)).toBe(true); // bucket 99 < 100
    expect(sampledByRequestId('00000064-x', 1)).toBe(false); // bucket 100
    let sampled = 0;
    for (let i = 0; i < 10_000; i++) if (sampledByRequestId(crypto.randomUUID(), 10)) sampled++;
    expect(sampled).toBeGreaterThan(800);
    expect(sampled).toBeLessThan(1200);
    expect(sampledByRequestId('anything', 0)).toBe(false);
    expect(sampledByRequestId('anything', 100)).toBe(true);
  });
});

describe('traceRequest', () => {
  it('starts a root trace when a sampled request carries no context', () => {
    const trace = traceRequest(new HeaderList([]), 'rid', policy(100), 5);
    expect(trace?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(trace?.parentSpanId).toBe('');
    expect(trace?.start).toBe(5);
  });

  it('does nothing for an unsampled request, so its headers pass as they came', () => {
    expect(traceRequest(new HeaderList([]), 'rid', policy(0), 0)).toBeUndefined();
    const unsampled = new HeaderList(['traceparent', `00-${TRACE}-${SPAN}-00`]);
    expect(traceRequest(unsampled, 'rid', policy(100), 0)).toBeUndefined();
  });

  it("honours the caller's decision over the percentage", () => {
    const sampled = new HeaderList(['traceparent', `00-${TRACE}-${SPAN}-01`]);
    const trace = traceRequest(sampled, 'rid', policy(0), 0);
    expect(trace?.traceId).toBe(TRACE);
    expect(trace?.parentSpanId).toBe(SPAN);
    // B3 without a decision leaves it to this proxy.
    const undecided = new HeaderList(['b3', `${TRACE}-${SPAN}`]);
    expect(traceRequest(undecided, 'rid', policy(0), 0)).toBeUndefined();
    expect(traceRequest(undecided, 'rid', policy(100), 0)?.traceId).toBe(TRACE);
  });
});

describe('RequestTrace.beginAttempt', () => {
  it('writes W3C context naming the attempt as parent, a new span per attempt', () => {
    const trace = new RequestTrace(undefined, 0);
    const raw = ['host', 'b', 'traceparent', 'old', 'tracestate', 'v=1'];
    const first = trace.beginAttempt(raw, '10.0.0.1:80');
    expect(fieldOf(raw, 'traceparent')).toBe(`00-${trace.traceId}-${first.spanId}-01`);
    const second = trace.beginAttempt(raw, '10.0.0.2:80');
    expect(second.spanId).not.toBe(first.spanId);
    expect(fieldOf(raw, 'traceparent')).toBe(`00-${trace.traceId}-${second.spanId}-01`);
    expect(raw.filter((f) => f === 'traceparent')).toHaveLength(1);
    expect(fieldOf(raw, 'tracestate')).toBe('v=1');
    expect(trace.attempts.map((a) => a.upstream)).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
  });

  it('answers B3 in the form it came in', () => {
    const single = new RequestTrace({ format: 'b3', traceId: TRACE, parentSpanId: SPAN, sampled: true }, 0);
    const raw: string[] = ['b3', `${TRACE}-${SPAN}-1`];
    const a = single.beginAttempt(raw, 'x:1');
    expect(fieldOf(raw, 'b3')).toBe(`${TRACE}-${a.spanId}-1-${single.spanId}`);
    expect(fieldOf(raw, 'traceparent')).toBe(`00-${TRACE}-${a.spanId}-01`);

    const multi = new RequestTrace(
      { format: 'b3multi', traceId: TRACE, parentSpanId: SPAN, sampled: true },
      0,
    );
    const fields: string[] = ['x-b3-traceid', TRACE, 'x-b3-spanid', SPAN, 'x-b3-flags', '1'];
    const b = multi.beginAttempt(fields, 'x:1');
    const headers = new HeaderList(fields);
    expect(headers.get('x-b3-traceid')).toBe(TRACE);
    expect(headers.get('x-b3-spanid')).toBe(b.spanId);
    expect(headers.get('x-b3-parentspanid')).toBe(multi.spanId);
    expect(headers.get('x-b3-sampled')).toBe('1');
    expect(headers.get('x-b3-flags')).toBeUndefined();
  });
});
