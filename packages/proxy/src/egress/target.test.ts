// Target parsing: absolute-form, CONNECT and origin-form, and every way of smuggling a second target.
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseForwardTarget } from './target.ts';

const parse = (method: string, url: string, headers: IncomingHttpHeaders = {}) =>
  parseForwardTarget({ method, url, host: headers.host });

function refused(method: string, url: string, headers: IncomingHttpHeaders = {}) {
  const r = parse(method, url, headers);
  if (r.ok) throw new Error(`expected a refusal for ${method} ${url}, got ${r.host}:${r.port}`);
  return r;
}

describe('parseForwardTarget: accepted forms', () => {
  it('reads absolute-form http with the default port and origin-form path', () => {
    expect(parse('GET', 'http://api.partner.example/v1/items?x=1', { host: 'api.partner.example' })).toEqual({
      ok: true,
      host: 'api.partner.example',
      port: 80,
      isConnect: false,
      path: '/v1/items?x=1',
      kind: 'name',
      authority: 'api.partner.example:80',
    });
  });

  it('reads an explicit port, an empty path and a bare query', () => {
    const a = parse('GET', 'http://example.com:8080');
    expect(a).toMatchObject({ ok: true, host: 'example.com', port: 8080, path: '/' });
    const b = parse('GET', 'http://example.com?q=1');
    expect(b).toMatchObject({ ok: true, path: '/?q=1' });
    const c = parse('GET', 'http://example.com/a#frag');
    expect(c).toMatchObject({ ok: true, path: '/a' });
  });

  it('reads CONNECT host:port', () => {
    expect(parse('CONNECT', 'api.partner.example:443', { host: 'api.partner.example:443' })).toMatchObject({
      ok: true,
      host: 'api.partner.example',
      port: 443,
      isConnect: true,
      path: '',
    });
  });

  it('reads origin-form from the Host header (default port 80)', () => {
    expect(parse('GET', '/x?y', { host: 'API.Partner.Example' })).toMatchObject({
      ok: true,
      host: 'api.partner.example',
      port: 80,
      isConnect: false,
      path: '/x?y',
    });
    expect(parse('GET', '/', { host: 'example.com:8443' })).toMatchObject({ ok: true, port: 8443 });
  });

  it('lower-cases and drops a trailing dot, in the target and in the Host comparison', () => {
    const r = parse('GET', 'HTTP://Example.COM./p', { host: 'example.com:80' });
    expect(r).toMatchObject({ ok: true, host: 'example.com', port: 80 });
  });

  it('normalises default ports between the target and Host', () => {
    expect(parse('GET', 'http://example.com:80/', { host: 'example.com' }).ok).toBe(true);
    expect(parse('GET', 'http://example.com/', { host: 'example.com:80' }).ok).toBe(true);
    expect(parse('CONNECT', 'example.com:443', { host: 'example.com' }).ok).toBe(true);
  });

  it('supports bracketed IPv6 literals and returns them bare and canonical', () => {
    const r = parse('GET', 'http://[2001:DB8:0:0::1]:8080/', { host: '[2001:db8::1]:8080' });
    expect(r).toMatchObject({
      ok: true,
      host: '2001:db8::1',
      port: 8080,
      kind: 'ipv6',
      authority: '[2001:db8::1]:8080',
    });
    expect(parse('CONNECT', '[::1]:443')).toMatchObject({ ok: true, host: '::1', kind: 'ipv6' });
  });

  it('reads IPv4 literals', () => {
    expect(parse('CONNECT', '93.184.216.34:443')).toMatchObject({
      ok: true,
      host: '93.184.216.34',
      kind: 'ipv4',
    });
  });
});

describe('parseForwardTarget: refusals', () => {
  it('refuses a Host header naming a different host than the absolute-form target', () => {
    const r = refused('GET', 'http://allowed.com/', { host: 'evil.com' });
    expect(r.code).toBe('host-mismatch');
    expect(r.host).toBe('allowed.com');
  });

  it('refuses a Host header naming a different port', () => {
    expect(refused('GET', 'http://allowed.com/', { host: 'allowed.com:8080' }).code).toBe('host-mismatch');
    expect(refused('GET', 'http://allowed.com:8080/', { host: 'allowed.com' }).code).toBe('host-mismatch');
  });

  it('refuses a Host header differing from the CONNECT target', () => {
    expect(refused('CONNECT', 'allowed.com:443', { host: 'evil.com:443' }).code).toBe('host-mismatch');
    expect(refused('CONNECT', 'allowed.com:443', { host: 'allowed.com:8443' }).code).toBe('host-mismatch');
    expect(refused('CONNECT', 'allowed.com:8443', { host: 'allowed.com' }).code).toBe('host-mismatch');
  });

  it('refuses https:// in absolute form and other schemes', () => {
    expect(refused('GET', 'https://allowed.com/').reason).toMatch(/CONNECT/);
    refused('GET', 'ftp://allowed.com/');
    refused('GET', 'http:/allowed.com/');
    refused('GET', 'allowed.com/');
    refused('GET', '*');
  });

  it('refuses userinfo, including the allowed.com@evil.com trick', () => {
    expect(refused('GET', 'http://allowed.com@evil.com/').reason).toMatch(/userinfo/);
    refused('GET', 'http://user:pw@allowed.com/');
    refused('CONNECT', 'allowed.com@evil.com:443');
    refused('GET', '/', { host: 'allowed.com@evil.com' });
  });

  it('refuses backslashes and other characters outside a host name', () => {
    refused('GET', 'http://evil.com\\@allowed.com/');
    refused('GET', 'http://evil.com\\.allowed.com/');
    refused('GET', 'http://allowed.com%2f.evil.com/');
    refused('GET', 'http://allowed com/');
    refused('GET', 'http://allowed..com/');
    refused('GET', 'http://allowed.com../');
    refused('GET', 'http://.allowed.com/');
    refused('GET', 'http:///path');
  });

  it('refuses CONNECT without a port, or with a bad one', () => {
    expect(refused('CONNECT', 'allowed.com').reason).toMatch(/port/);
    refused('CONNECT', 'allowed.com:');
    refused('CONNECT', 'allowed.com:0');
    refused('CONNECT', 'allowed.com:65536');
    refused('CONNECT', 'allowed.com:+443');
    refused('CONNECT', 'allowed.com:443/path');
    refused('CONNECT', '/path');
  });

  it('refuses numeric host names that a resolver would read as IPv4', () => {
    refused('GET', 'http://2130706433/');
    refused('GET', 'http://0x7f000001/');
    refused('GET', 'http://127.1/');
    refused('GET', 'http://0177.0.0.1/');
    refused('CONNECT', '127.000.000.001:443');
  });

  it('refuses unbracketed or zoned IPv6 and bad brackets', () => {
    refused('CONNECT', '::1:443');
    refused('GET', 'http://[fe80::1%25eth0]/');
    refused('GET', 'http://[::1/');
    refused('GET', 'http://[::1]x/');
    refused('GET', 'http://[127.0.0.1]/');
  });

  it('refuses origin-form without a Host header or with a malformed one', () => {
    refused('GET', '/x');
    refused('GET', '/x', { host: '' });
    refused('GET', '/x', { host: 'a b' });
  });

  it('refuses a malformed Host header next to an absolute-form target', () => {
    refused('GET', 'http://allowed.com/', { host: 'allowed.com:abc' });
  });

  it('keeps echoed host text short', () => {
    const r = refused('GET', `http://${'a'.repeat(5000)}!/`);
    expect(r.host.length).toBeLessThan(300);
  });
});
