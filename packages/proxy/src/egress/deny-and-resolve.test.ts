// The egress policy's parts: the DNS resolver's cache, the bodies of denials, and what counts as internal.
import { describe, expect, it } from 'vitest';
import { isInternalAddress } from './ip.ts';
import {
  DENY_CONTENT_TYPE,
  denyBody,
  denyError,
  denyReasonLabel,
  denyTarget,
  EgressPolicyChecker,
} from './policy.ts';
import { Resolver } from './resolver.ts';
import { parseForwardTarget } from './target.ts';
import { checker, registryOnly, rule } from './testing.ts';

describe('Resolver', () => {
  it('caches answers for the TTL, shares lookups in flight, and does not cache failures', async () => {
    let now = 0;
    let calls = 0;
    let fail = false;
    const r = new Resolver({
      cacheTtlMs: 1000,
      now: () => now,
      lookup: async () => {
        calls++;
        if (fail) throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
        return [{ address: '203.0.113.1', family: 4 }];
      },
    });
    await Promise.all([r.resolve('a.example'), r.resolve('a.example'), r.resolve('a.example')]);
    expect(calls).toBe(1);
    now = 999;
    await r.resolve('a.example');
    expect(calls).toBe(1);
    now = 1000;
    fail = true;
    await expect(r.resolve('a.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(r.resolve('a.example')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(calls).toBe(3);
  });

  it('turns a lookup that throws synchronously into a dns-failure', async () => {
    const c = new EgressPolicyChecker(registryOnly([rule('x.example', [80])]), {
      lookup: () => {
        throw new Error('boom');
      },
    });
    expect(await c.check({ host: 'x.example', port: 80 })).toMatchObject({
      allowed: false,
      code: 'dns-failure',
    });
  });
});

describe('deny bodies', () => {
  it('names host:port, the code and the reason in one plain-text line', async () => {
    const d = await checker.check({ host: 'evil.com', port: 443 });
    const body = denyBody(d);
    expect(body).toBe(
      'egress denied: evil.com:443 (host-not-allowed): host is not in the egress allow-list\n',
    );
    expect(DENY_CONTENT_TYPE).toMatch(/^text\/plain/);
    if (!d.allowed) expect(denyError(d).code).toBe('STRAIT_EGRESS_DENIED');
    if (!d.allowed) expect(denyReasonLabel(d.code)).toBe('host_not_allowed');
    expect(denyBody(await checker.check({ host: 'api.partner.example', port: 80 }))).toBe('');
  });

  it('brackets IPv6 hosts and turns target-parse failures into denials', () => {
    const parsed = parseForwardTarget({
      method: 'GET',
      url: 'http://allowed.com/',
      host: 'evil.com',
    });
    if (parsed.ok) throw new Error('expected a refusal');
    const d = denyTarget(parsed);
    expect(d).toMatchObject({ allowed: false, code: 'host-mismatch', host: 'allowed.com', port: 80 });
    expect(denyBody(d)).toMatch(/^egress denied: allowed\.com:80 \(host-mismatch\)/);
    expect(
      denyBody({ allowed: false, host: '::1', port: 443, code: 'ip-literal-not-allowed', reason: 'r' }),
    ).toMatch(/\[::1\]:443/);
  });
});

describe('isInternalAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.1.2', true],
    ['169.254.169.254', true],
    ['0.0.0.0', true],
    ['::', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['fe80::1', true],
    ['febf::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::ffff:169.254.1.1', true],
    ['::127.0.0.1', true],
    ['fe80::1%eth0', true],
    ['not-an-ip', true],
    ['10.0.0.1', false],
    ['203.0.113.5', false],
    ['::ffff:203.0.113.5', false],
    ['fec0::1', false],
    ['2001:db8::1', false],
  ])('%s -> %s', (address, expected) => {
    expect(isInternalAddress(address)).toBe(expected);
  });
});
