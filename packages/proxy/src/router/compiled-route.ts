// One route made ready for the hot path: its match compiled (@strait/api/routing's RouteMatcher, the same
// code straitctl describe explains with), its weighted pick, rewrite, limiter and header ops.
import type { DirectResponse, Fault, RetryPolicy, Route, RouteAction, TokenBucket } from '@strait/api';
import { RouteMatcher } from '@strait/api/routing';
import { type CompiledHeaderOps, compileHeaderOps } from '../filters/header-ops.ts';
import { TokenBucketLimiter } from '../filters/rate-limit.ts';

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
  /** The route's match conditions; the route table asks it per request. */
  readonly matcher: RouteMatcher;

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

    this.matcher = new RouteMatcher(route.match, where);

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
    const pm = this.matcher.pathMatch;
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
