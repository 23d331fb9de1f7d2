// Tests for authority normalisation and domain pattern parsing.

import { describe, expect, it } from 'vitest';
import { StraitError } from '../errors.ts';
import { normalizeHost, parseDomain } from './host.ts';

describe('normalizeHost', () => {
  it('lower-cases and strips the port', () => {
    expect(normalizeHost('Service-B:80')).toBe('service-b');
    expect(normalizeHost('service-b')).toBe('service-b');
    expect(normalizeHost('host:')).toBe('host');
  });

  it('keeps brackets on IPv6 literals and adds them to bare ones', () => {
    expect(normalizeHost('[::1]:8080')).toBe('[::1]');
    expect(normalizeHost('[FE80::1]')).toBe('[fe80::1]');
    expect(normalizeHost('fe80::1')).toBe('[fe80::1]');
  });

  it('removes one trailing dot and leaves odd input alone', () => {
    expect(normalizeHost('example.com.:443')).toBe('example.com');
    expect(normalizeHost('')).toBe('');
    expect(normalizeHost('host:abc')).toBe('host:abc');
  });
});

describe('parseDomain', () => {
  it('classifies every kind', () => {
    expect(parseDomain('*')).toEqual({ kind: 'any' });
    expect(parseDomain('*:80')).toEqual({ kind: 'any' });
    expect(parseDomain('Service-B:80')).toEqual({ kind: 'exact', host: 'service-b' });
    expect(parseDomain('*.Example.com')).toEqual({ kind: 'suffix', suffix: '.example.com' });
    expect(parseDomain('api.*')).toEqual({ kind: 'prefix', prefix: 'api.' });
  });

  it('rejects a misplaced wildcard', () => {
    expect(() => parseDomain('a.*.b')).toThrow(StraitError);
    expect(() => parseDomain('*.a.*')).toThrow(StraitError);
  });
});
