// One route made ready for the hot path: its match compiled, its weighted pick, rewrite, limiter and header ops.
import type {
  DirectResponse,
  Fault,
  HeaderMatch,
  RetryPolicy,
  Route,
  RouteAction,
  StringMatch,
  TokenBucket,
} from '@strait/api';
import type { HeaderLookup } from '../codec/headers.ts';
import { type CompiledHeaderOps, compileHeaderOps } from '../filters/header-ops.ts';
import { TokenBucketLimiter } from '../filters/rate-limit.ts';
import { findQueryParam } from './query.ts';
import { CompiledStringMatch } from './string-match.ts';

/** What the router needs to know about a request. */
export interface RouteRequest {
  /** The authority (`Host` header, or the host of an absolute-form target), port allowed. */
  authority: string;
  /** Origin-form target: the path including any `?query`. */
  path: string;
  method: string;
  headers: HeaderLookup;
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

/** Joins a rewrite prefix and what is left of the path, never doubling or dropping the slash between. */
function joinRewrite(prefix: string, rest: string): string {
  let out: string;
  if (prefix.endsWith('/') && rest.startsWith('/')) out = prefix + rest.slice(1);
  else out = prefix + rest;
  if (out.charCodeAt(0) !== 0x2f /* / */) out = `/${out}`;
  return out;
}

export interface CompiledRouteOptions {
  /** A limiter from the previous table for this route; kept if its bucket settings are unchanged. */
  previousLimiter?: TokenBucketLimiter | undefined;
  /** Clock for new limiters (tests). */
  now?: (() => number) | undefined;
}

/**
 * A route with everything computed once at config time. Fields other than `route` are
 * conveniences: `action`'s parts are passed through as they are in the snapshot.
 */
export class CompiledRoute {
  /** The route's name from the snapshot, for metrics and access logs. */
  readonly name: string;
  /** `virtualHost/route`, unique within a table (route names may repeat across virtual hosts). */
  readonly qualifiedName: string;
  readonly vhostName: string;
  readonly route: Route;
  readonly action: RouteAction | undefined;
  readonly directResponse: DirectResponse | undefined;
  readonly timeoutMs: number | undefined;
  readonly retry: RetryPolicy | undefined;
  readonly fault: Fault | undefined;
  readonly mirror: { cluster: string; percentage: number } | undefined;
  /** Replacement authority (Host) for the upstream request, if the route rewrites it. */
  readonly rewriteAuthority: string | undefined;
  readonly rateLimiter: TokenBucketLimiter | undefined;
  readonly requestHeaderOps: CompiledHeaderOps | undefined;
  readonly responseHeaderOps: CompiledHeaderOps | undefined;

  // Path match: kind and value; regex is anchored and compiled once.
  readonly #pathMatch: CompiledStringMatch | undefined;
  readonly #methods: ReadonlySet<string> | undefined;
  readonly #headers: readonly HeaderMatcher[];
  readonly #query: readonly QueryMatcher[];
  // Weighted clusters with weight > 0, and their running totals.
  readonly #clusters: readonly string[];
  readonly #cumulative: readonly number[];
  readonly #totalWeight: number;
  readonly #rewritePrefix: string | undefined;

  constructor(vhostName: string, route: Route, where: string, options: CompiledRouteOptions = {}) {
    this.name = route.name;
    this.qualifiedName = `${vhostName}/${route.name}`;
    this.vhostName = vhostName;
    this.route = route;
    const action = route.route;
    this.action = action;
    this.directResponse = route.directResponse;
    this.timeoutMs = action?.timeoutMs;
    this.retry = action?.retry;
    this.fault = action?.fault;
    this.mirror = action?.mirror;
    this.rewriteAuthority = action?.rewrite?.authority;
    this.#rewritePrefix = action?.rewrite?.prefix;
    this.requestHeaderOps = compileHeaderOps(action?.requestHeaders);
    this.responseHeaderOps = compileHeaderOps(action?.responseHeaders);
    this.rateLimiter = action?.rateLimit ? limiterFor(action.rateLimit, options) : undefined;

    const match = route.match;
    this.#pathMatch = match.path ? new CompiledStringMatch(match.path, `${where}.match.path`) : undefined;
    this.#methods =
      match.method && match.method.length > 0 ? new Set(match.method.map((m) => m.toUpperCase())) : undefined;
    this.#headers = (match.headers ?? []).map((h, i) =>
      compileHeaderMatcher(h, `${where}.match.headers[${i}]`),
    );
    this.#query = (match.queryParams ?? []).map((q, i) => ({
      name: q.name,
      match: compileOptional(q.match, `${where}.match.queryParams[${i}].match`),
    }));

    const clusters: string[] = [];
    const cumulative: number[] = [];
    let total = 0;
    for (const wc of action?.clusters ?? []) {
      if (wc.weight <= 0) continue;
      total += wc.weight;
      clusters.push(wc.cluster);
      cumulative.push(total);
    }
    // Istio sends all traffic to a lone destination whatever its weight; with several all at 0 we
    // fall back to the first rather than answer nothing (the control plane should not produce that).
    if (clusters.length === 0 && action && action.clusters.length > 0) {
      const first = action.clusters[0];
      if (first) {
        clusters.push(first.cluster);
        cumulative.push(1);
        total = 1;
      }
    }
    this.#clusters = clusters;
    this.#cumulative = cumulative;
    this.#totalWeight = total;
  }

  /**
   * True if the request meets every condition of the route's match. `pathEnd` is the index of `?`
   * in `req.path`, or its length when there is no query (the table computes it once per request).
   */
  matches(req: RouteRequest, pathEnd: number): boolean {
    const path = req.path;
    const pm = this.#pathMatch;
    if (pm !== undefined) {
      switch (pm.kind) {
        case 'exact':
          if (pathEnd !== pm.value.length || !path.startsWith(pm.value)) return false;
          break;
        case 'prefix':
          if (pm.value.length > pathEnd || !path.startsWith(pm.value)) return false;
          break;
        default:
          if (!pm.test(pathEnd === path.length ? path : path.slice(0, pathEnd))) return false;
      }
    }
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

  /**
   * Chooses a cluster by weight. `random` must return [0, 1). Weight-0 clusters are never chosen;
   * with one candidate no random number is drawn. A direct-response route has no cluster: "".
   */
  pickCluster(random: () => number = Math.random): string {
    const clusters = this.#clusters;
    if (clusters.length <= 1) return clusters[0] ?? '';
    const point = random() * this.#totalWeight;
    const cumulative = this.#cumulative;
    const last = clusters.length - 1;
    for (let i = 0; i < last; i++) {
      if (point < (cumulative[i] as number)) return clusters[i] as string;
    }
    return clusters[last] as string;
  }

  /**
   * The path to send upstream, following Istio's `rewrite.uri`: if the route matched by prefix, the
   * matched prefix is replaced; otherwise (exact, regex or no path match) the whole path is. The
   * query string is kept. A slash is never doubled where the two parts meet (`/api` rewritten to `/`
   * turns `/api/x` into `/x`, not `//x`), and the result always starts with `/`. Without a rewrite
   * the path is returned unchanged.
   */
  rewritePath(path: string): string {
    const prefix = this.#rewritePrefix;
    if (prefix === undefined) return path;
    const q = path.indexOf('?');
    const pathEnd = q < 0 ? path.length : q;
    const pm = this.#pathMatch;
    let rest = '';
    if (pm !== undefined && pm.kind === 'prefix' && pm.value.length <= pathEnd && path.startsWith(pm.value)) {
      rest = path.slice(pm.value.length, pathEnd);
    }
    const out = joinRewrite(prefix, rest);
    return q < 0 ? out : out + path.slice(q);
  }
}

function limiterFor(bucket: TokenBucket, options: CompiledRouteOptions): TokenBucketLimiter {
  const previous = options.previousLimiter;
  if (previous?.sameBucket(bucket)) return previous;
  return options.now ? new TokenBucketLimiter(bucket, options.now) : new TokenBucketLimiter(bucket);
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

/**
 * One header condition. `invert` negates the whole outcome, absence included: an inverted
 * "present" matcher means "absent", and an inverted value matcher also holds when the header is
 * missing (Istio's `withoutHeaders` meaning).
 */
function headerMatches(hm: HeaderMatcher, req: RouteRequest): boolean {
  let value: string | undefined;
  switch (hm.source) {
    case FROM_AUTHORITY:
      value = req.authority === '' ? undefined : req.authority;
      break;
    case FROM_PATH:
      value = req.path;
      break;
    case FROM_METHOD:
      value = req.method;
      break;
    default:
      value = req.headers.value(hm.name);
  }
  let ok: boolean;
  if (value === undefined) ok = false;
  else if (hm.match === undefined) ok = true;
  else ok = hm.match.test(value);
  return ok !== hm.invert;
}
