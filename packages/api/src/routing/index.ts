// @strait/api/routing: how a proxy picks a virtual host and a route for a request, and whether its
// AuthorizationPolicies allow it, as pure code that the proxy runs per request and straitctl describe runs to
// explain a request: path normalization, authority and domain patterns, string, header and query matching.

export * from './authorization.ts';
export * from './authz-match.ts';
export * from './domain-index.ts';
export * from './host.ts';
export * from './path-normalization.ts';
export * from './query.ts';
export * from './route-match.ts';
export * from './string-match.ts';
