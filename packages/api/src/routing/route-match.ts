// One route's match conditions, compiled once: `matches` is the proxy's per-request test, `explain` says
// which condition failed and why (straitctl describe). Both read the same compiled conditions.
import type { HeaderMatch, RouteMatch, StringMatch } from '../snapshot.ts';
import { findQueryParam } from './query.ts';
import { CompiledStringMatch } from './string-match.ts';

/** Reads a request header by lower-case name; repeated fields come joined (", ", or "; " for cookie). */
export interface HeaderValues {
  value(lower: string): string | undefined;
}

/** What route matching needs to know about a request. */
export interface MatchRequest {
  /** The authority (`Host` header, or the host of an absolute-form target), port allowed. */
  authority: string;
  /** Origin-form target: the path including any `?query`. */
  path: string;
  method: string;
  headers: HeaderValues;
  /** The destination port (`destinationPort`); a route with a port condition never matches without one. */
  port?: number;
}

/**
 * The port a request is for, which Istio's `match.port` compares with: a forward proxy's listener (a sidecar's
 * outbound, the egress gateway) serves every destination port, so it is the port the request addresses
 * (Istio's per-port outbound listener); any other listener (a gateway's server, an inbound) is its own port.
 */
export function destinationPort(listenerKind: string, listenerPort: number, requestPort: number): number {
  return listenerKind === 'outbound' || listenerKind === 'egress' ? requestPort : listenerPort;
}

/** The first condition of a route's match that a request fails, in words. */
export interface MatchMiss {
  condition: 'path' | 'port' | 'method' | 'header' | 'query';
  reason: string;
}

/** A HeaderValues over a plain object of header fields (node:http's shape, or names typed by a user). */
export function headerValuesOf(headers: Record<string, string | string[] | undefined>): HeaderValues {
  return {
    value: (lower) => {
      const v = headers[lower];
      return Array.isArray(v) ? v.join(lower === 'cookie' ? '; ' : ', ') : v;
    },
  };
}

// Where a header matcher reads its value: a real header, or one of the HTTP/2-style pseudo-headers.
const FROM_HEADER = 0;
const FROM_AUTHORITY = 1;
const FROM_PATH = 2;
const FROM_METHOD = 3;

interface HeaderMatcher {
  readonly name: string;
  readonly source: number;
  readonly match: CompiledStringMatch | undefined;
  readonly invert: boolean;
}

interface QueryMatcher {
  readonly name: string;
  readonly match: CompiledStringMatch | undefined;
}

function headerSource(name: string): number {
  switch (name) {
    case ':authority':
    case 'host':
      return FROM_AUTHORITY;
    case ':path':
      return FROM_PATH;
    case ':method':
      return FROM_METHOD;
    default:
      return FROM_HEADER;
  }
}

/**
 * A route's match (Envoy's RouteMatch): path (exact, prefix or whole-string regex, without the query),
 * destination port, methods, headers and query parameters, all of which must hold. Throws STRAIT_SNAPSHOT_INVALID naming
 * `where` for a bad regular expression.
 */
export class RouteMatcher {
  readonly pathMatch: CompiledStringMatch | undefined;
  readonly #port: number | undefined;
  readonly #methods: ReadonlySet<string> | undefined;
  readonly #headers: readonly HeaderMatcher[];
  readonly #query: readonly QueryMatcher[];

  constructor(match: RouteMatch, where: string) {
    this.pathMatch = match.path ? new CompiledStringMatch(match.path, `${where}.match.path`) : undefined;
    this.#port = match.port;
    this.#methods =
      match.method && match.method.length > 0 ? new Set(match.method.map((m) => m.toUpperCase())) : undefined;
    this.#headers = (match.headers ?? []).map((h, i) =>
      compileHeaderMatcher(h, `${where}.match.headers[${i}]`),
    );
    this.#query = (match.queryParams ?? []).map((q, i) => ({
      name: q.name,
      match: compileOptional(q.match, `${where}.match.queryParams[${i}].match`),
    }));
  }

  /**
   * True if the request meets every condition. `pathEnd` is the index of `?` in `req.path`, or its length
   * when there is no query (the caller computes it once per request, for all routes).
   */
  matches(req: MatchRequest, pathEnd: number): boolean {
    const path = req.path;
    if (!this.#pathHolds(path, pathEnd)) return false;
    if (this.#port !== undefined && req.port !== this.#port) return false;
    const methods = this.#methods;
    if (methods !== undefined && !methods.has(req.method) && !methods.has(req.method.toUpperCase())) {
      return false;
    }
    const headers = this.#headers;
    for (let i = 0; i < headers.length; i++) {
      if (!headerMatches(headers[i] as HeaderMatcher, req)) return false;
    }
    const query = this.#query;
    if (query.length > 0) {
      const queryStart = pathEnd < path.length ? pathEnd : -1;
      for (let i = 0; i < query.length; i++) {
        const qm = query[i] as QueryMatcher;
        const value = findQueryParam(path, queryStart, qm.name);
        if (value === undefined) return false;
        if (qm.match !== undefined && !qm.match.test(value)) return false;
      }
    }
    return true;
  }

  /** undefined when the request matches; else the first condition it fails, checked in `matches`' order. */
  explain(req: MatchRequest): MatchMiss | undefined {
    const q = req.path.indexOf('?');
    const pathEnd = q < 0 ? req.path.length : q;
    if (this.matches(req, pathEnd)) return undefined;
    const path = req.path.slice(0, pathEnd);
    const pm = this.pathMatch;
    if (pm && !this.#pathHolds(req.path, pathEnd)) {
      const verb =
        pm.kind === 'prefix' ? 'does not start with' : pm.kind === 'exact' ? 'is not' : 'does not match';
      return { condition: 'path', reason: `path ${quote(path)} ${verb} ${describeMatch(pm)}` };
    }
    if (this.#port !== undefined && req.port !== this.#port)
      return {
        condition: 'port',
        reason: `destination port ${req.port ?? 'unknown'} is not ${this.#port}`,
      };
    const methods = this.#methods;
    if (methods && !methods.has(req.method.toUpperCase()))
      return { condition: 'method', reason: `method ${req.method} is not ${[...methods].join(' or ')}` };
    for (const hm of this.#headers) {
      if (headerMatches(hm, req)) continue;
      const value = headerValue(hm, req);
      const seen = value === undefined ? 'absent' : quote(value);
      const wanted = hm.match ? describeMatch(hm.match) : 'present';
      const expected = hm.invert ? (hm.match ? `not ${wanted}` : 'absent') : wanted;
      return { condition: 'header', reason: `header ${hm.name} is ${seen}, expected ${expected}` };
    }
    const queryStart = pathEnd < req.path.length ? pathEnd : -1;
    for (const qm of this.#query) {
      const value = findQueryParam(req.path, queryStart, qm.name);
      if (value === undefined) return { condition: 'query', reason: `query parameter ${qm.name} is absent` };
      if (qm.match && !qm.match.test(value))
        return {
          condition: 'query',
          reason: `query parameter ${qm.name} is ${quote(value)}, expected ${describeMatch(qm.match)}`,
        };
    }
    return undefined;
  }

  /** The path condition alone; the path is `path` up to `pathEnd` (the query is never matched here). */
  #pathHolds(path: string, pathEnd: number): boolean {
    const pm = this.pathMatch;
    if (pm === undefined) return true;
    switch (pm.kind) {
      case 'exact':
        return pathEnd === pm.value.length && path.startsWith(pm.value);
      case 'prefix':
        return pm.value.length <= pathEnd && path.startsWith(pm.value);
      default:
        return pm.test(pathEnd === path.length ? path : path.slice(0, pathEnd));
    }
  }
}

/** `exact "/a"`, `prefix "/api"` or `regex "/v[0-9]+"`. */
function describeMatch(m: CompiledStringMatch): string {
  return `${m.kind} ${quote(m.value)}`;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

function compileOptional(match: StringMatch | undefined, where: string): CompiledStringMatch | undefined {
  return match ? new CompiledStringMatch(match, where) : undefined;
}

function compileHeaderMatcher(h: HeaderMatch, where: string): HeaderMatcher {
  const name = h.name.toLowerCase();
  return {
    name,
    source: headerSource(name),
    match: compileOptional(h.match, `${where}.match`),
    invert: h.invert === true,
  };
}

function headerValue(hm: HeaderMatcher, req: MatchRequest): string | undefined {
  switch (hm.source) {
    case FROM_AUTHORITY:
      return req.authority === '' ? undefined : req.authority;
    case FROM_PATH:
      return req.path;
    case FROM_METHOD:
      return req.method;
    default:
      return req.headers.value(hm.name);
  }
}

/**
 * One header condition. `invert` negates the whole outcome, absence included: an inverted
 * "present" matcher means "absent", and an inverted value matcher also holds when the header is
 * missing (Istio's `withoutHeaders` meaning).
 */
function headerMatches(hm: HeaderMatcher, req: MatchRequest): boolean {
  const value = headerValue(hm, req);
  let ok: boolean;
  if (value === undefined) ok = false;
  else if (hm.match === undefined) ok = true;
  else ok = hm.match.test(value);
  return ok !== hm.invert;
}
