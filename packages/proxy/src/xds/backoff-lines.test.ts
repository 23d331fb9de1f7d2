// The discovery client's parts: jittered exponential backoff, and the stream's line splitter.

import { LineSplitter } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { nextBackoffMs } from './backoff.ts';

describe('nextBackoffMs', () => {
  it('grows exponentially to the cap with full jitter', () => {
    const policy = { initialMs: 200, maxMs: 10_000 };
    expect(nextBackoffMs(0, policy, () => 1)).toBe(200);
    expect(nextBackoffMs(3, policy, () => 1)).toBe(1600);
    expect(nextBackoffMs(10, policy, () => 1)).toBe(10_000);
    expect(nextBackoffMs(1000, policy, () => 1)).toBe(10_000);
    expect(nextBackoffMs(5, policy, () => 0)).toBe(0);
    expect(nextBackoffMs(2, policy, () => 0.5)).toBe(400);
  });
});

describe('LineSplitter', () => {
  it('joins lines split across chunks, including split UTF-8 characters', () => {
    const splitter = new LineSplitter(1000);
    const bytes = Buffer.from('{"a":"é"}\n{"b":1}\n{"c"');
    expect(splitter.push(bytes.subarray(0, 8))).toEqual([]);
    expect(splitter.push(bytes.subarray(8, 12))).toEqual(['{"a":"é"}']);
    expect(splitter.push(bytes.subarray(12))).toEqual(['{"b":1}']);
    expect(splitter.push(Buffer.from(':2}\n'))).toEqual(['{"c":2}']);
  });

  it('refuses a line over the limit', () => {
    const splitter = new LineSplitter(10);
    expect(() => splitter.push(Buffer.from('x'.repeat(20)))).toThrow(/longer than 10/);
  });
});
