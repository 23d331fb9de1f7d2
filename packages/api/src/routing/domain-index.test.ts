// DomainIndex: Envoy's virtual-host order (exact, longest *suffix, longest prefix*, then *), ignoring case
// and port, first declaration winning.
import { describe, expect, it } from 'vitest';
import { DomainIndex } from './domain-index.ts';

describe('DomainIndex', () => {
  const index = new DomainIndex([
    { domains: ['*'], entry: 'any', where: 'a' },
    { domains: ['api.*'], entry: 'prefix', where: 'b' },
    { domains: ['*.example.com'], entry: 'suffix', where: 'c' },
    { domains: ['*.api.example.com'], entry: 'longer-suffix', where: 'd' },
    { domains: ['shop.example.com', 'shop.example.com:8080'], entry: 'exact', where: 'e' },
    { domains: ['shop.example.com'], entry: 'second', where: 'f' },
  ]);

  it('picks exact, then the longest suffix, then the longest prefix, then *', () => {
    expect(index.find('SHOP.example.com:8080')).toBe('exact');
    expect(index.find('v1.api.example.com')).toBe('longer-suffix');
    expect(index.find('www.example.com')).toBe('suffix');
    expect(index.find('api.internal')).toBe('prefix');
    expect(index.find('other')).toBe('any');
    expect(index.find('other')).toBe('any');
  });

  it('refuses a wildcard in the middle, naming where', () => {
    expect(
      () => new DomainIndex([{ domains: ['a.*.b'], entry: 1, where: 'listeners[0].virtualHosts[2]' }]),
    ).toThrow(/listeners\[0\]\.virtualHosts\[2\]/);
  });
});
