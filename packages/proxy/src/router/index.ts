// The router: virtual-host and route lookup, with each route's precomputed helpers. The matching itself is
// @strait/api/routing's, shared with straitctl describe.
export { CompiledRoute, type CompiledRouteOptions } from './compiled-route.ts';
export {
  type CompiledVirtualHost,
  type MatchedRoute,
  type RouteMatchResult,
  RouteTable,
  type RouteTableOptions,
} from './route-table.ts';
