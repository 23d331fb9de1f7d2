// Tests for RouteTable: virtual-host precedence, every match kind and route order.
import { StraitError } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { RouteTable } from './route-table.ts';
import { pick, req, route, vhost } from './testing.ts';

describe('virtual host selection', () => {
  const table = new RouteTable([
    vhost('catch-all', ['*']),
    vhost('prefix-short', ['api.*']),
    vhost('prefix-long', ['api.internal.*']),
    vhost('prefix-dash', ['web-*']),
    vhost('suffix-short', ['*.example.com']),
    vhost('suffix-long', ['*.eu.example.com']),
    vhost('suffix-dash', ['*-svc.example.com']),
    vhost('exact', ['www.example.com', 'service-b', 'service-b.default.svc.cluster.local']),
    vhost('v6', ['[::1]', '2001:db8::5']),
  ]);

  it('prefers an exact domain over every wildcard', () => {
    expect(pick(table, 'www.example.com')).toBe('exact');
    expect(pick(table, 'service-b')).toBe('exact');
    expect(pick(table, 'service-b.default.svc.cluster.local')).toBe('exact');
  });

  it('prefers the longest suffix wildcard', () => {
    expect(pick(table, 'shop.example.com')).toBe('suffix-short');
    expect(pick(table, 'shop.eu.example.com')).toBe('suffix-long');
    expect(pick(table, 'orders-svc.example.com')).toBe('suffix-dash');
  });

  it('does not let a wildcard stand for nothing', () => {
    // `.example.com` is exactly the suffix: the `*` would match the empty string.
    expect(pick(table, '.example.com')).toBe('catch-all');
    expect(pick(table, 'web-')).toBe('catch-all');
    expect(pick(table, 'web-1')).toBe('prefix-dash');
  });

  it('prefers a suffix wildcard over a prefix wildcard', () => {
    expect(pick(table, 'api.example.com')).toBe('suffix-short');
  });

  it('prefers the longest prefix wildcard, then falls back to *', () => {
    expect(pick(table, 'api.foo')).toBe('prefix-short');
    expect(pick(table, 'api.internal.foo')).toBe('prefix-long');
    expect(pick(table, 'unknown.host')).toBe('catch-all');
    expect(pick(table, '')).toBe('catch-all');
  });

  it('ignores case and port', () => {
    expect(pick(table, 'WWW.Example.COM')).toBe('exact');
    expect(pick(table, 'www.example.com:8080')).toBe('exact');
    expect(pick(table, 'Service-B:80')).toBe('exact');
    expect(pick(table, 'shop.EU.example.com:443')).toBe('suffix-long');
    expect(pick(table, 'API.internal.x:15001')).toBe('prefix-long');
    // Asking twice (the authority cache) gives the same answer.
    expect(pick(table, 'Service-B:80')).toBe('exact');
  });

  it('handles IPv6 literals with and without a port', () => {
    expect(pick(table, '[::1]:8080')).toBe('v6');
    expect(pick(table, '[::1]')).toBe('v6');
    expect(pick(table, '[2001:DB8::5]:80')).toBe('v6');
    expect(pick(table, '::1')).toBe('v6');
    expect(pick(table, '[::2]:80')).toBe('catch-all');
  });

  it('ignores a trailing dot', () => {
    expect(pick(table, 'service-b.:80')).toBe('exact');
  });

  it('answers undefined when no virtual host matches', () => {
    const noDefault = new RouteTable([vhost('only', ['service-a'])]);
    expect(noDefault.match(req('service-b'))).toBeUndefined();
    expect(noDefault.findVirtualHost('service-a:80')?.name).toBe('only');
    expect(noDefault.findVirtualHost('service-b')).toBeUndefined();
  });

  it('ignores ports written in the configured domains', () => {
    const t = new RouteTable([vhost('a', ['service-a:80', '*.mesh:*'])]);
    expect(pick(t, 'service-a:9090')).toBe('a');
    expect(pick(t, 'x.mesh')).toBe('a');
  });

  it('gives a domain claimed twice to the first virtual host', () => {
    const t = new RouteTable([vhost('first', ['dup', '*.w']), vhost('second', ['dup', '*.w'])]);
    expect(pick(t, 'dup')).toBe('first');
    expect(pick(t, 'a.w')).toBe('first');
  });

  it('rejects a wildcard in the middle of a domain', () => {
    expect(() => new RouteTable([vhost('bad', ['a.*.com'])])).toThrow(StraitError);
    expect(() => new RouteTable([vhost('bad', ['a.*.com'])])).toThrow(/domains/);
  });
});

describe('route order and path matching', () => {
  const table = new RouteTable([
    vhost(
      'h',
      ['*'],
      [
        route('exact', { path: { exact: '/exact' } }),
        route('regex', { path: { regex: '/items/[0-9]+' } }),
        route('prefix-api-v2', { path: { prefix: '/api/v2' } }),
        route('prefix-api', { path: { prefix: '/api' } }),
        route('prefix-api-v2-shadowed', { path: { prefix: '/api/v2/shadowed' } }),
        route('fallback', { path: { prefix: '/' } }),
      ],
    ),
  ]);

  it('matches an exact path, ignoring the query', () => {
    expect(pick(table, 'h', '/exact')).toBe('exact');
    expect(pick(table, 'h', '/exact?x=1')).toBe('exact');
    expect(pick(table, 'h', '/exact/')).toBe('fallback');
    expect(pick(table, 'h', '/exac')).toBe('fallback');
    expect(pick(table, 'h', '/Exact')).toBe('fallback');
  });

  it('takes the first route in order, not the most specific', () => {
    expect(pick(table, 'h', '/api/v2/x')).toBe('prefix-api-v2');
    expect(pick(table, 'h', '/api/v1')).toBe('prefix-api');
    expect(pick(table, 'h', '/apiary')).toBe('prefix-api');
    expect(pick(table, 'h', '/api/v2/shadowed')).toBe('prefix-api-v2');
  });

  it('does not let a prefix reach into the query string', () => {
    const t = new RouteTable([vhost('h', ['*'], [route('q', { path: { prefix: '/a?b' } })])]);
    expect(pick(t, 'h', '/a?b=1')).toBeUndefined();
  });

  it('anchors a regex at both ends and ignores the query', () => {
    expect(pick(table, 'h', '/items/42')).toBe('regex');
    expect(pick(table, 'h', '/items/42?page=2')).toBe('regex');
    expect(pick(table, 'h', '/items/42/edit')).toBe('fallback');
    expect(pick(table, 'h', '/x/items/42')).toBe('fallback');
    expect(pick(table, 'h', '/items/')).toBe('fallback');
  });

  it('anchors a regex that has alternatives', () => {
    const t = new RouteTable([vhost('h', ['*'], [route('alt', { path: { regex: '/a|/b' } })])]);
    expect(pick(t, 'h', '/a')).toBe('alt');
    expect(pick(t, 'h', '/b')).toBe('alt');
    expect(pick(t, 'h', '/ab')).toBeUndefined();
    expect(pick(t, 'h', '/xb')).toBeUndefined();
  });

  it('matches everything when the route has no path condition', () => {
    const t = new RouteTable([vhost('h', ['*'], [route('any')])]);
    expect(pick(t, 'h', '/whatever?x')).toBe('any');
  });

  it('answers undefined when the host matches but no route does', () => {
    const t = new RouteTable([vhost('h', ['*'], [route('only', { path: { exact: '/only' } })])]);
    expect(t.match(req('h', '/other'))).toBeUndefined();
    expect(pick(new RouteTable([vhost('empty', ['*'], [])]), 'h')).toBeUndefined();
  });

  it('rejects an invalid regex with the field path', () => {
    const bad = () => new RouteTable([vhost('h', ['*'], [route('r', { path: { regex: '/(unclosed' } })])]);
    expect(bad).toThrow(StraitError);
    expect(bad).toThrow(/virtualHosts\[0\]\.routes\[0\]\.match\.path/);
  });

  it('returns the same result object for the same route (no per-request allocation)', () => {
    const a = table.match(req('h', '/exact'));
    const b = table.match(req('h:80', '/exact?y'));
    expect(a).toBeDefined();
    expect(a).toBe(b);
    expect(a?.vhost.name).toBe('h');
    expect(Object.isFrozen(a)).toBe(true);
  });
});

describe('method matching', () => {
  const table = new RouteTable([
    vhost('h', ['*'], [route('writes', { method: ['POST', 'put'] }), route('rest')]),
  ]);

  it('matches any method in the list, case-insensitively', () => {
    expect(pick(table, 'h', '/', 'POST')).toBe('writes');
    expect(pick(table, 'h', '/', 'PUT')).toBe('writes');
    expect(pick(table, 'h', '/', 'post')).toBe('writes');
    expect(pick(table, 'h', '/', 'GET')).toBe('rest');
  });

  it('treats an empty method list as any method', () => {
    const t = new RouteTable([vhost('h', ['*'], [route('any', { method: [] })])]);
    expect(pick(t, 'h', '/', 'DELETE')).toBe('any');
  });
});

describe('header matching', () => {
  const table = new RouteTable([
    vhost(
      'h',
      ['*'],
      [
        route('exact', { headers: [{ name: 'X-User', match: { exact: 'jason' } }] }),
        route('prefix', { headers: [{ name: 'x-user', match: { prefix: 'adm' } }] }),
        route('regex', { headers: [{ name: 'x-user', match: { regex: 'u[0-9]+' } }] }),
        route('present', { headers: [{ name: 'x-canary' }] }),
        route('rest'),
      ],
    ),
  ]);

  it('matches exact, prefix and whole-value regex', () => {
    expect(pick(table, 'h', '/', 'GET', { 'x-user': 'jason' })).toBe('exact');
    expect(pick(table, 'h', '/', 'GET', { 'x-user': 'jasonx' })).toBe('rest');
    expect(pick(table, 'h', '/', 'GET', { 'x-user': 'admin' })).toBe('prefix');
    expect(pick(table, 'h', '/', 'GET', { 'x-user': 'u123' })).toBe('regex');
    expect(pick(table, 'h', '/', 'GET', { 'x-user': 'u123x' })).toBe('rest');
    expect(pick(table, 'h', '/', 'GET', { 'x-user': 'xu123' })).toBe('rest');
  });

  it('matches presence when no value condition is given', () => {
    expect(pick(table, 'h', '/', 'GET', { 'x-canary': '' })).toBe('present');
    expect(pick(table, 'h', '/', 'GET', { 'x-canary': 'anything' })).toBe('present');
    expect(pick(table, 'h', '/', 'GET', {})).toBe('rest');
  });

  it('joins repeated values before matching', () => {
    const t = new RouteTable([
      vhost('h', ['*'], [route('both', { headers: [{ name: 'x-tag', match: { exact: 'a, b' } }] })]),
    ]);
    expect(pick(t, 'h', '/', 'GET', { 'x-tag': ['a', 'b'] })).toBe('both');
  });

  it('inverts the whole outcome, absence included', () => {
    const t = new RouteTable([
      vhost(
        'h',
        ['*'],
        [
          route('not-jason', { headers: [{ name: 'x-user', match: { exact: 'jason' }, invert: true }] }),
          route('rest'),
        ],
      ),
    ]);
    expect(pick(t, 'h', '/', 'GET', { 'x-user': 'jason' })).toBe('rest');
    expect(pick(t, 'h', '/', 'GET', { 'x-user': 'mary' })).toBe('not-jason');
    expect(pick(t, 'h', '/', 'GET', {})).toBe('not-jason');

    const absent = new RouteTable([
      vhost('h', ['*'], [route('no-debug', { headers: [{ name: 'x-debug', invert: true }] }), route('rest')]),
    ]);
    expect(pick(absent, 'h', '/', 'GET', {})).toBe('no-debug');
    expect(pick(absent, 'h', '/', 'GET', { 'x-debug': '1' })).toBe('rest');
  });

  it('reads :authority, :path and :method from the request', () => {
    const t = new RouteTable([
      vhost(
        'h',
        ['*'],
        [
          route('auth', { headers: [{ name: ':authority', match: { exact: 'shop:8080' } }] }),
          route('path', { headers: [{ name: ':path', match: { prefix: '/p?' } }] }),
          route('method', { headers: [{ name: ':method', match: { exact: 'PATCH' } }] }),
        ],
      ),
    ]);
    expect(pick(t, 'shop:8080')).toBe('auth');
    expect(pick(t, 'other', '/p?x=1')).toBe('path');
    expect(pick(t, 'other', '/', 'PATCH')).toBe('method');
    expect(pick(t, 'other', '/')).toBeUndefined();
  });
});

describe('query parameter matching', () => {
  const table = new RouteTable([
    vhost(
      'h',
      ['*'],
      [
        route('exact', { queryParams: [{ name: 'ref', match: { exact: 'main' } }] }),
        route('prefix', { queryParams: [{ name: 'ref', match: { prefix: 'rel-' } }] }),
        route('regex', { queryParams: [{ name: 'id', match: { regex: '[0-9]{3}' } }] }),
        route('present', { queryParams: [{ name: 'debug' }] }),
        route('rest'),
      ],
    ),
  ]);

  it('matches exact, prefix, regex and presence', () => {
    expect(pick(table, 'h', '/?ref=main')).toBe('exact');
    expect(pick(table, 'h', '/x?a=1&ref=main&b=2')).toBe('exact');
    expect(pick(table, 'h', '/?ref=mainline')).toBe('rest');
    expect(pick(table, 'h', '/?ref=rel-1.2')).toBe('prefix');
    expect(pick(table, 'h', '/?id=123')).toBe('regex');
    expect(pick(table, 'h', '/?id=1234')).toBe('rest');
    expect(pick(table, 'h', '/?debug')).toBe('present');
    expect(pick(table, 'h', '/?debug=')).toBe('present');
    expect(pick(table, 'h', '/?debugger=1')).toBe('rest');
    expect(pick(table, 'h', '/')).toBe('rest');
  });

  it('decodes values and uses the first occurrence', () => {
    expect(pick(table, 'h', '/?ref=ma%69n')).toBe('exact');
    expect(pick(table, 'h', '/?ref=main&ref=other')).toBe('exact');
    expect(pick(table, 'h', '/?ref=other&ref=main')).toBe('rest');
  });

  it('requires every condition of a route to hold', () => {
    const t = new RouteTable([
      vhost(
        'h',
        ['*'],
        [
          route('all', {
            path: { prefix: '/api' },
            method: ['GET'],
            headers: [{ name: 'x-env', match: { exact: 'test' } }],
            queryParams: [{ name: 'v', match: { exact: '2' } }],
          }),
          route('rest'),
        ],
      ),
    ]);
    const headers = { 'x-env': 'test' };
    expect(pick(t, 'h', '/api?v=2', 'GET', headers)).toBe('all');
    expect(pick(t, 'h', '/other?v=2', 'GET', headers)).toBe('rest');
    expect(pick(t, 'h', '/api?v=2', 'POST', headers)).toBe('rest');
    expect(pick(t, 'h', '/api?v=2', 'GET', {})).toBe('rest');
    expect(pick(t, 'h', '/api?v=3', 'GET', headers)).toBe('rest');
  });
});

describe("match.port: the request's destination port", () => {
  // egress-rule-google-apis.yaml's shape: port 80 goes to the 443 cluster; other ports fall through.
  const table = new RouteTable([
    vhost('googleapis', ['www.googleapis.com'], [route('port-80', { port: 80 }), route('any-port')]),
  ]);
  const at = (port: number | undefined) =>
    table.match({ ...req('www.googleapis.com'), ...(port === undefined ? {} : { port }) })?.route.name;

  it('picks the port route only for its port, and the next route for any other or none', () => {
    expect(at(80)).toBe('port-80');
    expect(at(443)).toBe('any-port');
    expect(at(undefined)).toBe('any-port');
  });
});
