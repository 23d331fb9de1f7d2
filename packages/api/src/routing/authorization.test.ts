// The authorization filter's decisions, by Istio's semantics: DENY before ALLOW, allow-nothing and
// allow-all, any-of within a list and all-of across fields, not* fields, and each value and key family.

import { describe, expect, it } from 'vitest';
import type { AuthzPolicy, AuthzRule } from '../snapshot.ts';
import { type AuthzRequest, CompiledAuthorization } from './authorization.ts';
import { addressesOf, anyOf, namespaceOfPrincipal } from './authz-match.ts';

const A = 'cluster.local/ns/default/sa/service-a';

function request(over: Partial<Omit<AuthzRequest, 'header'>> & { headers?: Record<string, string> } = {}) {
  const { headers = {}, ...rest } = over;
  const r: AuthzRequest = {
    principal: A,
    sourceIp: '127.0.190.1',
    destinationIp: '127.0.190.2',
    serverName: '',
    method: 'GET',
    path: '/info',
    host: 'service-b:8080',
    header: (name) => headers[name],
    ...rest,
  };
  return r;
}

function policy(action: AuthzPolicy['action'], rules: AuthzRule[], name = action.toLowerCase()): AuthzPolicy {
  return { name, namespace: 'default', action, scope: 'namespace', rules };
}

function decide(policies: AuthzPolicy[], r: AuthzRequest = request(), destinationPort = 8080) {
  return new CompiledAuthorization({ destinationPort, policies }).decide(r);
}

const allowed = (policies: AuthzPolicy[], r?: AuthzRequest, port?: number) =>
  decide(policies, r, port).allowed;

describe('values', () => {
  it('match exactly, by prefix, by suffix, and by presence', () => {
    expect(anyOf(['/a'])('/a')).toBe(true);
    expect(anyOf(['/a'])('/ab')).toBe(false);
    expect(anyOf(['/a*'])('/ab')).toBe(true);
    expect(anyOf(['*/b'])('/a/b')).toBe(true);
    expect(anyOf(['*/b'])('/a/c')).toBe(false);
    expect(anyOf(['*'])('x')).toBe(true);
    expect(anyOf(['*'])('')).toBe(false);
    expect(anyOf(['Shop.*'], true)('shop.example')).toBe(true);
  });

  it('match addresses and CIDR blocks, v4 and v6, the v4-mapped form too', () => {
    const m = addressesOf(['10.1.0.0/16', '127.0.190.7', '::1/128']);
    expect(m('10.1.2.3')).toBe(true);
    expect(m('10.2.0.1')).toBe(false);
    expect(m('127.0.190.7')).toBe(true);
    expect(m('::ffff:10.1.9.9')).toBe(true);
    expect(m('::1')).toBe(true);
    expect(m('')).toBe(false);
    expect(() => addressesOf(['not-an-ip'])).toThrow(/not an IP address/);
  });

  it('read the namespace from a principal', () => {
    expect(namespaceOfPrincipal(A)).toBe('default');
    expect(namespaceOfPrincipal('')).toBe('');
  });
});

describe('actions', () => {
  it('allows everything when no ALLOW policy applies, and AUDIT never decides', () => {
    expect(allowed([])).toBe(true);
    expect(allowed([policy('AUDIT', [{}])])).toBe(true);
  });

  it('denies everything under allow-nothing (no rules) and allows everything under allow-all (one empty rule)', () => {
    expect(decide([policy('ALLOW', [])])).toEqual({ allowed: false, policy: undefined });
    expect(decide([policy('ALLOW', [{}])])).toEqual({ allowed: true, policy: 'default/allow' });
  });

  it('denies everything under deny-all, and a DENY match beats an ALLOW match', () => {
    expect(decide([policy('DENY', [{}])])).toEqual({ allowed: false, policy: 'default/deny' });
    const both = [policy('ALLOW', [{}]), policy('DENY', [{ to: [{ methods: ['POST'] }] }])];
    expect(allowed(both, request({ method: 'POST' }))).toBe(false);
    expect(allowed(both, request({ method: 'GET' }))).toBe(true);
  });

  it('allows what any ALLOW policy allows', () => {
    const two = [
      policy('ALLOW', [{ to: [{ paths: ['/a'] }] }], 'a'),
      policy('ALLOW', [{ to: [{ paths: ['/b'] }] }], 'b'),
    ];
    expect(decide(two, request({ path: '/b' }))).toEqual({ allowed: true, policy: 'default/b' });
    expect(allowed(two, request({ path: '/c' }))).toBe(false);
  });
});

describe('from', () => {
  it('matches principals against the SPIFFE ID without its scheme; a plain-text caller has none', () => {
    const p = [policy('ALLOW', [{ from: [{ principals: [A] }] }])];
    expect(allowed(p)).toBe(true);
    expect(allowed(p, request({ principal: 'cluster.local/ns/default/sa/service-c' }))).toBe(false);
    expect(allowed(p, request({ principal: '' }))).toBe(false);
    expect(allowed([policy('ALLOW', [{ from: [{ principals: ['*'] }] }])], request({ principal: '' }))).toBe(
      false,
    );
  });

  it('matches namespaces from the principal, and notNamespaces excludes', () => {
    expect(allowed([policy('ALLOW', [{ from: [{ namespaces: ['default'] }] }])])).toBe(true);
    expect(allowed([policy('ALLOW', [{ from: [{ namespaces: ['shop'] }] }])])).toBe(false);
    expect(allowed([policy('DENY', [{ from: [{ notNamespaces: ['default'] }] }])])).toBe(true);
    expect(allowed([policy('DENY', [{ from: [{ notNamespaces: ['shop'] }] }])])).toBe(false);
  });

  it('matches ipBlocks and remoteIpBlocks against the peer address, with their not* forms', () => {
    expect(allowed([policy('ALLOW', [{ from: [{ ipBlocks: ['127.0.190.0/24'] }] }])])).toBe(true);
    expect(allowed([policy('ALLOW', [{ from: [{ ipBlocks: ['10.0.0.0/8'] }] }])])).toBe(false);
    expect(allowed([policy('ALLOW', [{ from: [{ remoteIpBlocks: ['127.0.190.1'] }] }])])).toBe(true);
    expect(allowed([policy('DENY', [{ from: [{ notIpBlocks: ['127.0.190.0/24'] }] }])])).toBe(true);
  });

  it('needs every field of a source (AND) and any source of the list (OR)', () => {
    const andRule = [policy('ALLOW', [{ from: [{ principals: [A], ipBlocks: ['10.0.0.0/8'] }] }])];
    expect(allowed(andRule)).toBe(false);
    const orRule = [policy('ALLOW', [{ from: [{ principals: ['x'] }, { ipBlocks: ['127.0.0.0/8'] }] }])];
    expect(allowed(orRule)).toBe(true);
  });
});

describe('to', () => {
  it('matches methods, and notMethods excludes (Istio: everything but GET)', () => {
    const p = [policy('ALLOW', [{ to: [{ notMethods: ['GET'] }] }])];
    expect(allowed(p, request({ method: 'POST' }))).toBe(true);
    expect(allowed(p, request({ method: 'GET' }))).toBe(false);
  });

  it('matches paths exactly, by prefix and by suffix, on the path without its query', () => {
    const p = [policy('ALLOW', [{ to: [{ paths: ['/exact', '/api/*', '*/healthz'] }] }])];
    expect(allowed(p, request({ path: '/exact' }))).toBe(true);
    expect(allowed(p, request({ path: '/api/v1' }))).toBe(true);
    expect(allowed(p, request({ path: '/x/healthz' }))).toBe(true);
    expect(allowed(p, request({ path: '/exact/more' }))).toBe(false);
  });

  it('matches ports against the destination port, and hosts with or without the port, in any case', () => {
    expect(allowed([policy('ALLOW', [{ to: [{ ports: ['8080'] }] }])], request(), 8080)).toBe(true);
    expect(allowed([policy('ALLOW', [{ to: [{ ports: ['9090'] }] }])], request(), 8080)).toBe(false);
    expect(allowed([policy('DENY', [{ to: [{ notPorts: ['8080'] }] }])], request(), 8080)).toBe(true);
    expect(allowed([policy('ALLOW', [{ to: [{ hosts: ['SERVICE-B'] }] }])])).toBe(true);
    expect(allowed([policy('ALLOW', [{ to: [{ hosts: ['service-b:8080'] }] }])])).toBe(true);
    expect(allowed([policy('ALLOW', [{ to: [{ notHosts: ['service-*'] }] }])])).toBe(false);
  });
});

describe('when', () => {
  it('checks request headers with values and notValues; a missing header matches only notValues', () => {
    const p = [policy('ALLOW', [{ when: [{ key: 'request.headers[X-Token]', values: ['abc*'] }] }])];
    expect(allowed(p, request({ headers: { 'x-token': 'abcdef' } }))).toBe(true);
    expect(allowed(p, request({ headers: { 'x-token': 'zzz' } }))).toBe(false);
    expect(allowed(p, request())).toBe(false);
    const not = [policy('ALLOW', [{ when: [{ key: 'request.headers[x-token]', notValues: ['bad'] }] }])];
    expect(allowed(not, request())).toBe(true);
    expect(allowed(not, request({ headers: { 'x-token': 'bad' } }))).toBe(false);
  });

  it('checks source.ip, destination.ip, source.principal, source.namespace, destination.port and connection.sni', () => {
    const one = (key: string, values: string[], r = request(), port = 8080) =>
      allowed([policy('ALLOW', [{ when: [{ key, values }] }])], r, port);
    expect(one('source.ip', ['127.0.190.0/24'])).toBe(true);
    expect(one('remote.ip', ['10.0.0.0/8'])).toBe(false);
    expect(one('destination.ip', ['127.0.190.2'])).toBe(true);
    expect(one('source.principal', ['*/sa/service-a'])).toBe(true);
    expect(one('source.namespace', ['shop'])).toBe(false);
    expect(one('destination.port', ['8080'])).toBe(true);
    expect(one('connection.sni', ['*.local'], request({ serverName: 'b.default.svc.cluster.local' }))).toBe(
      true,
    );
    expect(one('request.auth.claims[iss]', ['x'])).toBe(false);
  });

  it('needs every condition (AND), and each of from, to and when that is set', () => {
    const rule: AuthzRule = {
      from: [{ principals: [A] }],
      to: [{ methods: ['GET'] }],
      when: [
        { key: 'request.headers[x-a]', values: ['1'] },
        { key: 'source.ip', values: ['127.0.0.0/8'] },
      ],
    };
    expect(allowed([policy('ALLOW', [rule])], request({ headers: { 'x-a': '1' } }))).toBe(true);
    expect(allowed([policy('ALLOW', [rule])], request({ headers: { 'x-a': '2' } }))).toBe(false);
    expect(allowed([policy('ALLOW', [rule])], request({ method: 'PUT', headers: { 'x-a': '1' } }))).toBe(
      false,
    );
  });
});
