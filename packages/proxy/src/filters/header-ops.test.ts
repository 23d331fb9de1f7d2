// Tests for header operations: order (remove, set, add), appending rules and validation.
import { StraitError } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { HeaderList } from '../codec/headers.ts';
import { applyHeaderOps, compileHeaderOps } from './header-ops.ts';

type HeaderObject = Record<string, string | string[]>;

/** Applies ops to the field list of `headers` and reads the result back in node:http's shape. */
function apply(headers: HeaderObject, ops: Parameters<typeof compileHeaderOps>[0]): HeaderObject {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers))
    for (const one of Array.isArray(value) ? value : [value]) raw.push(name, one);
  const compiled = compileHeaderOps(ops);
  if (compiled) applyHeaderOps(raw, compiled);
  return new HeaderList(raw).toObject();
}

describe('compileHeaderOps', () => {
  it('returns undefined when there is nothing to do', () => {
    expect(compileHeaderOps(undefined)).toBeUndefined();
    expect(compileHeaderOps({})).toBeUndefined();
    expect(compileHeaderOps({ set: {}, add: {}, remove: [] })).toBeUndefined();
  });

  it('lower-cases names', () => {
    const ops = compileHeaderOps({ set: { 'X-One': '1' }, add: { 'X-Two': '2' }, remove: ['X-Three'] });
    expect(ops?.setNames).toEqual(['x-one']);
    expect(ops?.addNames).toEqual(['x-two']);
    expect(ops?.remove).toEqual(['x-three']);
  });

  it('rejects bad names and values', () => {
    expect(() => compileHeaderOps({ set: { 'bad name': 'x' } })).toThrow(StraitError);
    expect(() => compileHeaderOps({ remove: [':authority'] })).toThrow(StraitError);
    expect(() => compileHeaderOps({ add: { 'x-a': 'evil\r\nx-injected: 1' } })).toThrow(/CR, LF/);
  });
});

describe('applyHeaderOps', () => {
  it('removes, sets and adds', () => {
    const headers = apply(
      { 'x-secret': 's', 'x-version': 'old', 'x-keep': 'k' },
      { remove: ['X-Secret'], set: { 'X-Version': 'v2' }, add: { 'x-new': 'n' } },
    );
    expect(headers).toEqual({ 'x-keep': 'k', 'x-version': 'v2', 'x-new': 'n' });
    expect('x-secret' in headers).toBe(false);
  });

  it('removes before setting, so a header can be replaced cleanly', () => {
    expect(apply({ 'x-a': '1' }, { remove: ['x-a'], set: { 'x-a': '2' } })).toEqual({ 'x-a': '2' });
  });

  it('sets before adding, so add appends to the set value', () => {
    expect(apply({ 'x-a': 'orig' }, { set: { 'x-a': 'set' }, add: { 'x-a': 'added' } })).toEqual({
      'x-a': 'set, added',
    });
  });

  it('appends by comma-joining a string value', () => {
    expect(apply({ via: '1.1 edge' }, { add: { via: '1.1 strait' } })).toEqual({
      via: '1.1 edge, 1.1 strait',
    });
  });

  it('adds a line after the existing ones', () => {
    expect(apply({ 'x-list': ['a', 'b'] }, { add: { 'x-list': 'c' } })).toEqual({ 'x-list': 'a, b, c' });
  });

  it('keeps set-cookie values as separate lines', () => {
    expect(apply({ 'set-cookie': 'a=1' }, { add: { 'Set-Cookie': 'b=2' } })).toEqual({
      'set-cookie': ['a=1', 'b=2'],
    });
    expect(apply({}, { add: { 'set-cookie': 'b=2' } })).toEqual({ 'set-cookie': ['b=2'] });
  });

  it('can be applied to many header objects from one compiled set', () => {
    const ops = compileHeaderOps({ add: { 'x-a': '1' } });
    if (!ops) throw new Error('expected ops');
    const first: string[] = [];
    const second = ['x-a', '0'];
    applyHeaderOps(first, ops);
    applyHeaderOps(second, ops);
    expect(first).toEqual(['x-a', '1']);
    expect(second).toEqual(['x-a', '0', 'x-a', '1']);
  });
});
