// Fixtures for the egress tests: a fake DNS (names to addresses, every lookup recorded), rule builders, and
// one checker over a typical allow-list.
import type { EgressPolicy, EgressRule } from '@strait/api';
import { EgressPolicyChecker, type LookupFn } from './policy.ts';

/** A fake resolver: names to addresses; unknown names fail like getaddrinfo does. */
export function fakeDns(table: Record<string, string[]>): LookupFn & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (host: string) => {
    calls.push(host);
    const found = table[host];
    if (found === undefined)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: (address.includes(':') ? 6 : 4) as 4 | 6 }));
  };
  return Object.assign(fn, { calls });
}

export const rule = (host: string, ports: number[], extra: Partial<EgressRule> = {}): EgressRule => ({
  host,
  ports,
  resolution: 'DNS',
  ...extra,
});

export const registryOnly = (allow: EgressRule[]): EgressPolicy => ({ mode: 'REGISTRY_ONLY', allow });

export const dns = fakeDns({
  'api.partner.example': ['203.0.113.10'],
  'www.allowed.com': ['203.0.113.20'],
  'a.b.allowed.com': ['203.0.113.21'],
  'allowed.com': ['203.0.113.22'],
  'sneaky.allowed.com': ['203.0.113.23', '127.0.0.1'],
  'linklocal.allowed.com': ['169.254.169.254'],
  'mapped.allowed.com': ['::ffff:127.0.0.1'],
  'v6loop.allowed.com': ['::1'],
  'v6ll.allowed.com': ['fe80::1'],
  'zero.allowed.com': ['0.0.0.0'],
  'named.allowed.com': ['127.0.9.9'],
  'public6.allowed.com': ['2001:db8::5'],
  'localhost.allowed.com': ['127.0.0.1'],
  'internal.partner.example': ['127.0.5.1'],
  'mapped-named.allowed.com': ['::ffff:127.0.9.9'],
});

export const checker = new EgressPolicyChecker(
  registryOnly([
    rule('api.partner.example', [80, 443]),
    rule('*.allowed.com', [443]),
    rule('allowed.com', [80]),
    rule('127.0.9.9', [443]),
    rule('203.0.113.99', [443]),
    rule('[2001:db8::99]', [443]),
    rule('Static.Example.', [80], {
      resolution: 'STATIC',
      endpoints: [{ address: '127.0.5.1', port: 8080 }],
    }),
  ]),
  { lookup: dns },
);

export async function denied(host: string, port: number) {
  const d = await checker.check({ host, port });
  if (d.allowed) throw new Error(`expected ${host}:${port} to be denied, got ${d.address}`);
  return d;
}
