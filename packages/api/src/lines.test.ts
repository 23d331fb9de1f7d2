// The line splitter under the discovery stream and etcd's watch stream: lines across chunks, and the limit.
import { describe, expect, it } from 'vitest';
import { LineSplitter } from './lines.ts';

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
