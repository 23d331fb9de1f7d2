// Path normalization by mode: dot segments, unreserved escapes, merged and decoded slashes, query kept.
import { describe, expect, it } from 'vitest';
import { normalizeTarget } from './path-normalization.ts';

describe('normalizeTarget', () => {
  it('NONE leaves everything as it came', () => {
    expect(normalizeTarget('/x/../a//b%2fc?q=..', 'NONE')).toBe('/x/../a//b%2fc?q=..');
  });

  it.each([
    ['/dir1/../dir2', '/dir2'],
    ['/dir1/./dir2', '/dir1/dir2'],
    ['/dir1/..', '/'],
    ['/dir1/.', '/dir1/'],
    ['/a/b/..', '/a/'],
    ['/..', '/'],
    ['/../../etc', '/etc'],
    ['/dir1/%2e./dir2', '/dir2'],
    ['/%2E%2e/admin', '/admin'],
    ['/dir1/.dir2/..dir3/dir.4/dir..5', '/dir1/.dir2/..dir3/dir.4/dir..5'],
    ['/%7e/dir1', '/~/dir1'],
    ['/%61dmin', '/admin'],
    ['/%ff', '/%FF'],
    ['/a%2fb', '/a%2Fb'],
    ['/path%Z%30with%xYbad', '/path%Z0with%xYbad'],
    ['//admin', '//admin'],
    ['/x/..%2fadmin', '/x/..%2Fadmin'],
  ])('BASE: %s -> %s', (input, output) => {
    expect(normalizeTarget(input, 'BASE')).toBe(output);
  });

  it('MERGE_SLASHES merges after resolving dots', () => {
    expect(normalizeTarget('///root///child//', 'MERGE_SLASHES')).toBe('/root/child/');
    expect(normalizeTarget('//admin', 'MERGE_SLASHES')).toBe('/admin');
    expect(normalizeTarget('/a//../b', 'MERGE_SLASHES')).toBe('/a/b');
    expect(normalizeTarget('/a%2f%2fb', 'MERGE_SLASHES')).toBe('/a%2F%2Fb');
  });

  it('DECODE_AND_MERGE_SLASHES decodes %2F and %5C first', () => {
    expect(normalizeTarget('/x/..%2fadmin', 'DECODE_AND_MERGE_SLASHES')).toBe('/admin');
    expect(normalizeTarget('/dir1%2fdir2%2F/dir3', 'DECODE_AND_MERGE_SLASHES')).toBe('/dir1/dir2/dir3');
    expect(normalizeTarget('/a%5cb', 'DECODE_AND_MERGE_SLASHES')).toBe('/a\\b');
  });

  it('keeps the query as it was and drops a fragment', () => {
    expect(normalizeTarget('/a/./b?x=/../%2e#frag', 'BASE')).toBe('/a/b?x=/../%2e');
    expect(normalizeTarget('/plain?x=1', 'MERGE_SLASHES')).toBe('/plain?x=1');
  });

  it('refuses a target that is not an absolute path', () => {
    expect(normalizeTarget('*', 'BASE')).toBeUndefined();
    expect(normalizeTarget('a/b', 'BASE')).toBeUndefined();
  });
});
