// Tests for query parameter lookup and decoding.
import { describe, expect, it } from 'vitest';
import { decodeQueryComponent, findQueryParam } from './query.ts';

function find(target: string, name: string): string | undefined {
  return findQueryParam(target, target.indexOf('?'), name);
}

describe('findQueryParam', () => {
  it('finds values anywhere in the query', () => {
    expect(find('/p?a=1&b=2&c=3', 'a')).toBe('1');
    expect(find('/p?a=1&b=2&c=3', 'b')).toBe('2');
    expect(find('/p?a=1&b=2&c=3', 'c')).toBe('3');
    expect(find('/p?a=1&b=2&c=3', 'd')).toBeUndefined();
  });

  it('does not confuse names that share a prefix', () => {
    expect(find('/p?ab=1&a=2', 'a')).toBe('2');
    expect(find('/p?ab=1', 'a')).toBeUndefined();
  });

  it('treats a name without = as present with an empty value', () => {
    expect(find('/p?flag&x=1', 'flag')).toBe('');
    expect(find('/p?x=1&flag', 'flag')).toBe('');
    expect(find('/p?flag=', 'flag')).toBe('');
  });

  it('keeps = inside a value', () => {
    expect(find('/p?t=a=b', 't')).toBe('a=b');
  });

  it('decodes names and values', () => {
    expect(find('/p?na%6De=x%20y', 'name')).toBe('x y');
    expect(find('/p?q=a+b', 'q')).toBe('a b');
    expect(find('/p?q=%E2%9C%93', 'q')).toBe('✓');
  });

  it('returns the first occurrence and handles no or empty query', () => {
    expect(find('/p?a=1&a=2', 'a')).toBe('1');
    expect(find('/p', 'a')).toBeUndefined();
    expect(find('/p?', 'a')).toBeUndefined();
    expect(find('/p?&&a=1&', 'a')).toBe('1');
  });

  it('leaves a malformed escape as written', () => {
    expect(decodeQueryComponent('100%')).toBe('100%');
    expect(find('/p?x=%zz', 'x')).toBe('%zz');
  });
});
