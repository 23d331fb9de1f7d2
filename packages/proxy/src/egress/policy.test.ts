// The egress allow-list: exact and wildcard hosts, ports, IP literals, internal addresses and resolution.
import { describe, expect, it } from 'vitest';
import { EgressPolicyChecker } from './policy.ts';
import { checker, denied, dns, fakeDns, registryOnly, rule } from './testing.ts';

describe('EgressPolicyChecker (REGISTRY_ONLY)', () => {
  it('allows a listed host on a listed port and returns the resolved address', async () => {
    const d = await checker.check({ host: 'api.partner.example', port: 443 });
    expect(d).toMatchObject({
      allowed: true,
      host: 'api.partner.example',
      port: 443,
      address: '203.0.113.10',
    });
    if (d.allowed) {
      expect(d.connectPort).toBe(443);
      expect(d.rule?.host).toBe('api.partner.example');
    }
  });

  it('denies a host that is not listed', async () => {
    expect((await denied('evil.com', 443)).code).toBe('host-not-allowed');
    expect((await denied('api.partner.example.evil.com', 443)).code).toBe('host-not-allowed');
    expect((await denied('xallowed.com', 443)).code).toBe('host-not-allowed');
    expect((await denied('allowed.com.evil.com', 443)).code).toBe('host-not-allowed');
  });

  it('denies an allowed host on an unlisted port', async () => {
    const d = await denied('api.partner.example', 8080);
    expect(d.code).toBe('port-not-allowed');
    expect((await denied('www.allowed.com', 80)).code).toBe('port-not-allowed');
  });

  it('matches *.domain at any depth but never the bare domain', async () => {
    expect(await checker.check({ host: 'www.allowed.com', port: 443 })).toMatchObject({ allowed: true });
    expect(await checker.check({ host: 'a.b.allowed.com', port: 443 })).toMatchObject({ allowed: true });
    // The bare domain has its own entry on port 80 only: the wildcard's 443 does not extend to it.
    expect((await denied('allowed.com', 443)).code).toBe('port-not-allowed');
    expect((await denied('allowed.com.', 443)).code).toBe('port-not-allowed');
    const bareOnly = new EgressPolicyChecker(registryOnly([rule('*.allowed.com', [443])]), { lookup: dns });
    expect(await bareOnly.check({ host: 'allowed.com', port: 443 })).toMatchObject({
      allowed: false,
      code: 'host-not-allowed',
    });
  });

  it('is case-insensitive and ignores a trailing dot, on both the entry and the target', async () => {
    expect(await checker.check({ host: 'API.Partner.EXAMPLE.', port: 80 })).toMatchObject({
      allowed: true,
      host: 'api.partner.example',
    });
    expect(await checker.check({ host: 'static.example', port: 80 })).toMatchObject({ allowed: true });
    expect(await checker.check({ host: 'WWW.ALLOWED.COM', port: 443 })).toMatchObject({ allowed: true });
    expect((await denied('api.partner.example..', 80)).code).toBe('bad-target');
  });

  it('denies IP literals unless an entry names that exact IP', async () => {
    expect((await denied('203.0.113.10', 443)).code).toBe('ip-literal-not-allowed');
    expect((await denied('127.0.0.1', 443)).code).toBe('ip-literal-not-allowed');
    expect((await denied('::1', 443)).code).toBe('ip-literal-not-allowed');
    expect((await denied('[::ffff:203.0.113.99]', 443)).code).toBe('ip-literal-not-allowed');
    expect(await checker.check({ host: '203.0.113.99', port: 443 })).toMatchObject({
      allowed: true,
      address: '203.0.113.99',
    });
    expect((await denied('203.0.113.99', 80)).code).toBe('port-not-allowed');
  });

  it('supports IPv6 literals, compared in canonical form', async () => {
    expect(await checker.check({ host: '[2001:DB8:0::99]', port: 443 })).toMatchObject({
      allowed: true,
      host: '2001:db8::99',
    });
    expect((await denied('2001:db8::98', 443)).code).toBe('ip-literal-not-allowed');
  });

  it('denies a name that resolves to loopback, link-local or unspecified (any of its addresses)', async () => {
    expect((await denied('sneaky.allowed.com', 443)).code).toBe('resolves-to-internal');
    expect((await denied('localhost.allowed.com', 443)).code).toBe('resolves-to-internal');
    expect((await denied('linklocal.allowed.com', 443)).code).toBe('resolves-to-internal');
    expect((await denied('mapped.allowed.com', 443)).code).toBe('resolves-to-internal');
    expect((await denied('v6loop.allowed.com', 443)).code).toBe('resolves-to-internal');
    expect((await denied('v6ll.allowed.com', 443)).code).toBe('resolves-to-internal');
    expect((await denied('zero.allowed.com', 443)).code).toBe('resolves-to-internal');
  });

  it('allows a name resolving to an internal address when the list names that address', async () => {
    expect(await checker.check({ host: 'named.allowed.com', port: 443 })).toMatchObject({
      allowed: true,
      address: '127.0.9.9',
    });
  });

  it('treats an IPv4-mapped answer as the named IPv4 address it carries', async () => {
    expect(await checker.check({ host: 'mapped-named.allowed.com', port: 443 })).toMatchObject({
      allowed: true,
      address: '::ffff:127.0.9.9',
    });
  });

  it('allows public IPv6 results', async () => {
    expect(await checker.check({ host: 'public6.allowed.com', port: 443 })).toMatchObject({
      allowed: true,
      address: '2001:db8::5',
    });
  });

  it('uses STATIC endpoints (named by the list, so loopback is fine) and their port, without DNS', async () => {
    const calls = dns.calls.length;
    const d = await checker.check({ host: 'static.example', port: 80 });
    expect(d).toMatchObject({ allowed: true, address: '127.0.5.1', connectPort: 8080, port: 80 });
    expect(dns.calls.length).toBe(calls);
  });

  it('does not let one rule’s STATIC endpoint bless another host resolving to it', async () => {
    const c = new EgressPolicyChecker(
      registryOnly([
        rule('api.partner.example', [80], { resolution: 'STATIC', endpoints: [{ address: '127.0.5.1' }] }),
        rule('internal.partner.example', [80]),
      ]),
      { lookup: dns },
    );
    expect(await c.check({ host: 'api.partner.example', port: 80 })).toMatchObject({
      allowed: true,
      address: '127.0.5.1',
      connectPort: 80,
    });
    expect(await c.check({ host: 'internal.partner.example', port: 80 })).toMatchObject({
      allowed: false,
      code: 'resolves-to-internal',
    });
  });

  it('round-robins over several STATIC endpoints', async () => {
    const c = new EgressPolicyChecker(
      registryOnly([
        rule('multi.example', [80], {
          resolution: 'STATIC',
          endpoints: [{ address: '203.0.113.1' }, { address: '203.0.113.2' }],
        }),
      ]),
    );
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const d = await c.check({ host: 'multi.example', port: 80 });
      if (d.allowed) seen.add(d.address);
    }
    expect([...seen].sort()).toEqual(['203.0.113.1', '203.0.113.2']);
  });

  it('reports DNS failures and empty answers as dns-failure', async () => {
    const c = new EgressPolicyChecker(registryOnly([rule('*.example.org', [443])]), {
      lookup: fakeDns({ 'empty.example.org': [] }),
    });
    expect(await c.check({ host: 'nx.example.org', port: 443 })).toMatchObject({
      allowed: false,
      code: 'dns-failure',
    });
    expect(await c.check({ host: 'empty.example.org', port: 443 })).toMatchObject({
      allowed: false,
      code: 'dns-failure',
    });
  });

  it('times out a lookup that never answers', async () => {
    const c = new EgressPolicyChecker(registryOnly([rule('slow.example', [443])]), {
      lookup: () => new Promise(() => {}),
      lookupTimeoutMs: 50,
    });
    expect(await c.check({ host: 'slow.example', port: 443 })).toMatchObject({
      allowed: false,
      code: 'dns-failure',
    });
  });

  it('denies malformed targets as bad-target', async () => {
    expect((await denied('allowed.com@evil.com', 443)).code).toBe('bad-target');
    expect((await denied('evil.com\\.allowed.com', 443)).code).toBe('bad-target');
    expect((await denied('2130706433', 443)).code).toBe('bad-target');
    expect((await denied('www.allowed.com', 0)).code).toBe('bad-target');
    expect((await denied('www.allowed.com', 70000)).code).toBe('bad-target');
  });

  it('with no policy is REGISTRY_ONLY with an empty list', async () => {
    const c = new EgressPolicyChecker(undefined, { lookup: dns });
    expect(c.mode).toBe('REGISTRY_ONLY');
    expect(await c.check({ host: 'api.partner.example', port: 443 })).toMatchObject({
      allowed: false,
      code: 'host-not-allowed',
    });
  });

  it('ignores (and reports) entries it cannot compile', () => {
    const c = new EgressPolicyChecker(registryOnly([rule('bad host', [80]), rule('*.127.0.0.1', [80])]));
    expect(c.warnings).toHaveLength(2);
  });

  it('uses the real resolver by default (localhost resolves to loopback, so it is denied)', async () => {
    const c = new EgressPolicyChecker(registryOnly([rule('localhost', [80])]));
    expect(await c.check({ host: 'localhost', port: 80 })).toMatchObject({
      allowed: false,
      code: 'resolves-to-internal',
    });
  });
});

describe('EgressPolicyChecker (ALLOW_ANY)', () => {
  const any = new EgressPolicyChecker(
    {
      mode: 'ALLOW_ANY',
      allow: [
        rule('static.example', [80], {
          resolution: 'STATIC',
          endpoints: [{ address: '127.0.5.1', port: 8080 }],
        }),
      ],
    },
    { lookup: dns },
  );

  it('allows any well-formed target and returns the resolved address', async () => {
    expect(await any.check({ host: 'sneaky.allowed.com', port: 9999 })).toMatchObject({
      allowed: true,
      address: '203.0.113.23',
      rule: undefined,
    });
    expect(await any.check({ host: '198.51.100.7', port: 22 })).toMatchObject({
      allowed: true,
      address: '198.51.100.7',
    });
  });

  it('still uses a matching rule’s STATIC endpoint', async () => {
    expect(await any.check({ host: 'static.example', port: 80 })).toMatchObject({
      allowed: true,
      address: '127.0.5.1',
      connectPort: 8080,
    });
  });

  it('still refuses malformed targets and reports DNS failures', async () => {
    expect(await any.check({ host: 'a@b', port: 80 })).toMatchObject({ allowed: false, code: 'bad-target' });
    expect(await any.check({ host: 'nx.example', port: 80 })).toMatchObject({
      allowed: false,
      code: 'dns-failure',
    });
  });
});
