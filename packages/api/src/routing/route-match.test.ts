// RouteMatcher: `explain` names the first condition a request fails, in the order `matches` checks them, and
// agrees with `matches` on every request.
import { describe, expect, it } from 'vitest';
import type { RouteMatch } from '../snapshot.ts';
import { destinationPort, headerValuesOf, type MatchRequest, RouteMatcher } from './route-match.ts';

function request(path: string, headers: Record<string, string> = {}, method = 'GET'): MatchRequest {
  return { authority: 'service-b', path, method, headers: headerValuesOf(headers) };
}

function explain(match: RouteMatch, req: MatchRequest): string | undefined {
  const matcher = new RouteMatcher(match, 'routes[0]');
  const q = req.path.indexOf('?');
  const matches = matcher.matches(req, q < 0 ? req.path.length : q);
  const miss = matcher.explain(req);
  expect(miss === undefined, 'explain agrees with matches').toBe(matches);
  return miss?.reason;
}

describe('RouteMatcher.explain', () => {
  it('says nothing for a request that matches', () => {
    expect(explain({ path: { prefix: '/api' } }, request('/api/x?y=1'))).toBeUndefined();
    expect(explain({}, request('/anything'))).toBeUndefined();
  });

  it('names a path that misses, by kind, without the query', () => {
    expect(explain({ path: { prefix: '/api' } }, request('/apx?api=1'))).toBe(
      'path "/apx" does not start with prefix "/api"',
    );
    expect(explain({ path: { exact: '/a' } }, request('/a/'))).toBe('path "/a/" is not exact "/a"');
    expect(explain({ path: { regex: '/v[0-9]+' } }, request('/vx'))).toBe(
      'path "/vx" does not match regex "/v[0-9]+"',
    );
  });

  it('names a method, a header (absent, different, inverted) and a query parameter that miss', () => {
    expect(explain({ method: ['POST'] }, request('/'))).toBe('method GET is not POST');
    const user = { headers: [{ name: 'x-user', match: { exact: 'a' } }] };
    expect(explain(user, request('/', { 'x-user': 'b' }))).toBe('header x-user is "b", expected exact "a"');
    expect(explain(user, request('/'))).toBe('header x-user is absent, expected exact "a"');
    expect(explain(user, request('/', { 'x-user': 'a' }))).toBeUndefined();
    const without = { headers: [{ name: 'x-debug', invert: true }] };
    expect(explain(without, request('/', { 'x-debug': '1' }))).toBe('header x-debug is "1", expected absent');
    const notA = { headers: [{ name: 'x-user', match: { exact: 'a' }, invert: true }] };
    expect(explain(notA, request('/', { 'x-user': 'a' }))).toBe(
      'header x-user is "a", expected not exact "a"',
    );
    const query = { queryParams: [{ name: 'v', match: { exact: '2' } }] };
    expect(explain(query, request('/?v=1'))).toBe('query parameter v is "1", expected exact "2"');
    expect(explain(query, request('/'))).toBe('query parameter v is absent');
  });

  it('reports the path before the headers, as matching checks them', () => {
    const both = { path: { prefix: '/api' }, headers: [{ name: 'x-user', match: { exact: 'a' } }] };
    expect(explain(both, request('/x', { 'x-user': 'b' }))).toMatch(/^path /);
  });
});

describe("match.port (Istio's HTTPMatchRequest.port)", () => {
  const onPort = (port: number | undefined): MatchRequest => ({
    ...request('/'),
    ...(port === undefined ? {} : { port }),
  });

  it('holds only for requests to that destination port, and says which port missed', () => {
    const match: RouteMatch = { path: { prefix: '/' }, port: 80 };
    expect(explain(match, onPort(80))).toBeUndefined();
    expect(explain(match, onPort(443))).toBe('destination port 443 is not 80');
    expect(explain(match, onPort(undefined))).toBe('destination port unknown is not 80');
    // A route without a port condition takes every port.
    expect(explain({ path: { prefix: '/' } }, onPort(8443))).toBeUndefined();
  });

  it('is checked after the path and before the method', () => {
    const match: RouteMatch = { path: { prefix: '/api' }, port: 80, method: ['POST'] };
    expect(explain(match, { ...request('/api/x'), port: 81 })).toBe('destination port 81 is not 80');
    expect(explain(match, { ...request('/api/x'), port: 80 })).toBe('method GET is not POST');
    expect(explain(match, { ...request('/x'), port: 81 })).toBe(
      'path "/x" does not start with prefix "/api"',
    );
  });

  it("is the addressed port on a forward proxy's listener and the listener's own port elsewhere", () => {
    expect(destinationPort('outbound', 15001, 80)).toBe(80);
    expect(destinationPort('egress', 15443, 443)).toBe(443);
    expect(destinationPort('gateway', 8080, 80)).toBe(8080);
    expect(destinationPort('inbound', 15006, 80)).toBe(15006);
  });
});
