// The router: virtual-host and route lookup, with each route's precomputed helpers.
export { CompiledRoute, type CompiledRouteOptions, type RouteRequest } from './compiled-route.ts';
export { type DomainPattern, normalizeHost, parseDomain } from './host.ts';
export { decodeQueryComponent, findQueryParam } from './query.ts';
export {
  type CompiledVirtualHost,
  type MatchedRoute,
  type RouteMatchResult,
  RouteTable,
  type RouteTableOptions,
} from './route-table.ts';
export { CompiledStringMatch, compileAnchoredRegex, type StringMatchKind } from './string-match.ts';
