// Builders shared by the router's tests: routes, virtual hosts and requests as the table sees them.
import type { IncomingHttpHeaders } from 'node:http';
import type { Route, RouteMatch, VirtualHost } from '@strait/api';
import { lookupOf } from '../codec/headers.ts';
import type { RouteTable } from './route-table.ts';

export function route(name: string, match: RouteMatch = {}, extra: Partial<Route> = {}): Route {
  return { name, match, route: { clusters: [{ cluster: `c-${name}`, weight: 100 }] }, ...extra };
}

export function vhost(name: string, domains: string[], routes: Route[] = [route(name)]): VirtualHost {
  return { name, domains, routes };
}

export function req(authority: string, path = '/', method = 'GET', headers: IncomingHttpHeaders = {}) {
  return { authority, path, method, headers: lookupOf(headers) };
}

/** Which route name the table picks, or undefined. */
export function pick(
  table: RouteTable,
  authority: string,
  path = '/',
  method = 'GET',
  headers: IncomingHttpHeaders = {},
) {
  return table.match(req(authority, path, method, headers))?.route.name;
}
