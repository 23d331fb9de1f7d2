// VirtualService http[] entries turned into snapshot routes: matches, weighted clusters, timeouts,
// retries, faults, mirrors, rewrites, header operations and rate limits.
import type {
  HeaderMatch,
  HeaderOps,
  RetryPolicy,
  RouteMatch,
  SnapshotInput,
  StringMatch,
  TokenBucket,
} from '@strait/api';
import { durationMs, type HttpRoute, type IstioStringMatch, type Resource } from '@strait/api/resources';
import type { ClusterSet } from './clusters.ts';
import type { MeshIndex } from './mesh-index.ts';

type RouteInput = SnapshotInput['listeners'][number]['virtualHosts'][number]['routes'][number];
type RouteActionInput = NonNullable<RouteInput['route']>;

/** Istio's default when a route sets no retries: 2 attempts on connect failures, resets and 503s. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 2,
  retryOn: ['connect-failure', 'reset', 'retriable-status-codes'],
  retriableStatusCodes: [503],
};

/** The route a host without a VirtualService gets: everything to one cluster. */
export function defaultRoute(cluster: string): RouteInput {
  return {
    name: 'default',
    match: { path: { prefix: '/' } },
    route: { clusters: [{ cluster, weight: 100 }], retry: cloneRetry(DEFAULT_RETRY) },
  };
}

function cloneRetry(retry: RetryPolicy): RetryPolicy {
  return {
    ...retry,
    retryOn: [...retry.retryOn],
    ...(retry.retriableStatusCodes ? { retriableStatusCodes: [...retry.retriableStatusCodes] } : {}),
  };
}

/** The token bucket a RateLimit puts on one VirtualService route, if any. */
function routeRateLimit(
  index: MeshIndex,
  vs: Resource<'VirtualService'>,
  http: HttpRoute,
): TokenBucket | undefined {
  const rl = index.rateLimits.find(
    (r) =>
      r.spec.targetRef.kind === 'VirtualService' &&
      r.spec.targetRef.name === vs.metadata.name &&
      r.metadata.namespace === vs.metadata.namespace &&
      (r.spec.route === undefined || r.spec.route === http.name),
  );
  return rl ? tokenBucketOf(rl) : undefined;
}

export function tokenBucketOf(rl: Resource<'RateLimit'>): TokenBucket {
  const tb = rl.spec.tokenBucket;
  return {
    maxTokens: tb.maxTokens,
    tokensPerFill: tb.tokensPerFill,
    fillIntervalMs: Math.max(1, durationMs(tb.fillInterval)),
  };
}

/** All routes of one VirtualService, in order (one route per `match` entry, as Envoy needs). */
export function virtualServiceRoutes(
  index: MeshIndex,
  vs: Resource<'VirtualService'>,
  clusters: ClusterSet,
): RouteInput[] {
  const ns = vs.metadata.namespace;
  const out: RouteInput[] = [];
  (vs.spec.http ?? []).forEach((http, i) => {
    const baseName = `${vs.metadata.name}.${http.name ?? String(i)}`;
    const matches = http.match && http.match.length > 0 ? http.match : [undefined];
    const action = http.route ? routeAction(index, vs, http, clusters, ns) : undefined;
    matches.forEach((match, j) => {
      const name = matches.length > 1 ? `${baseName}.${match?.name ?? String(j)}` : baseName;
      const route: RouteInput = { name, match: routeMatch(match) };
      if (action) route.route = structuredClone(action);
      else if (http.directResponse) {
        route.directResponse = { status: http.directResponse.status };
        if (http.directResponse.body) route.directResponse.body = http.directResponse.body.string;
      }
      out.push(route);
    });
  });
  return out;
}

function routeAction(
  index: MeshIndex,
  vs: Resource<'VirtualService'>,
  http: HttpRoute,
  clusters: ClusterSet,
  ns: string,
): RouteActionInput {
  const destinations = http.route ?? [];
  const explicit = destinations.some((d) => d.weight !== undefined);
  const even = Math.floor(100 / Math.max(1, destinations.length));
  const action: RouteActionInput = {
    clusters: destinations.map((d, i) => ({
      cluster: clusters.destination(d.destination.host, d.destination.subset, d.destination.port?.number, ns),
      weight:
        destinations.length === 1
          ? 100
          : explicit
            ? (d.weight ?? 0)
            : even + (i === 0 ? 100 - even * destinations.length : 0),
    })),
  };
  if (http.timeout) action.timeoutMs = durationMs(http.timeout);
  const retry = retryPolicy(http);
  if (retry) action.retry = retry;
  if (http.fault) {
    const fault: NonNullable<RouteActionInput['fault']> = {};
    if (http.fault.delay)
      fault.delay = {
        fixedDelayMs: durationMs(http.fault.delay.fixedDelay),
        percentage: http.fault.delay.percentage?.value ?? 100,
      };
    if (http.fault.abort)
      fault.abort = {
        httpStatus: http.fault.abort.httpStatus,
        percentage: http.fault.abort.percentage?.value ?? 100,
      };
    action.fault = fault;
  }
  if (http.mirror) {
    action.mirror = {
      cluster: clusters.destination(http.mirror.host, http.mirror.subset, http.mirror.port?.number, ns),
      percentage: http.mirrorPercentage?.value ?? 100,
    };
  }
  if (http.rewrite && (http.rewrite.uri !== undefined || http.rewrite.authority !== undefined)) {
    action.rewrite = {};
    if (http.rewrite.uri !== undefined) action.rewrite.prefix = http.rewrite.uri;
    if (http.rewrite.authority !== undefined) action.rewrite.authority = http.rewrite.authority;
  }
  if (http.headers?.request) action.requestHeaders = headerOps(http.headers.request);
  if (http.headers?.response) action.responseHeaders = headerOps(http.headers.response);
  const limit = routeRateLimit(index, vs, http);
  if (limit) action.rateLimit = limit;
  return action;
}

function retryPolicy(http: HttpRoute): RetryPolicy | undefined {
  const retries = http.retries;
  if (!retries) return cloneRetry(DEFAULT_RETRY);
  if (retries.attempts === 0) return undefined;
  const policy: RetryPolicy = { attempts: retries.attempts, retryOn: [] };
  if (retries.perTryTimeout) policy.perTryTimeoutMs = durationMs(retries.perTryTimeout);
  const parts = (retries.retryOn ?? 'connect-failure,reset,503')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const codes = parts.filter((p) => /^\d{3}$/.test(p)).map(Number);
  const named = parts.filter((p) => !/^\d{3}$/.test(p)) as RetryPolicy['retryOn'];
  if (codes.length > 0 && !named.includes('retriable-status-codes')) named.push('retriable-status-codes');
  policy.retryOn = [...new Set(named)];
  if (codes.length > 0) policy.retriableStatusCodes = codes;
  return policy;
}

function headerOps(ops: {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}): HeaderOps {
  const out: HeaderOps = {};
  const lower = (r: Record<string, string>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]));
  if (ops.set) out.set = lower(ops.set);
  if (ops.add) out.add = lower(ops.add);
  if (ops.remove) out.remove = ops.remove.map((h) => h.toLowerCase());
  return out;
}

function stringMatch(m: IstioStringMatch): StringMatch | undefined {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { regex: m.regex };
  return undefined;
}

type IstioMatch = NonNullable<HttpRoute['match']>[number];

function routeMatch(match: IstioMatch | undefined): RouteMatch {
  const out: RouteMatch = {};
  const path = match?.uri ? stringMatch(match.uri) : undefined;
  out.path = path ?? { prefix: '/' };
  if (match?.port !== undefined) out.port = match.port;
  if (match?.method?.exact) out.method = [match.method.exact.toUpperCase()];
  const headers: HeaderMatch[] = [];
  for (const [name, m] of Object.entries(match?.headers ?? {})) headers.push(headerMatch(name, m, false));
  for (const [name, m] of Object.entries(match?.withoutHeaders ?? {}))
    headers.push(headerMatch(name, m, true));
  if (headers.length > 0) out.headers = headers;
  const params = Object.entries(match?.queryParams ?? {}).map(([name, m]) => {
    const sm = stringMatch(m);
    return sm ? { name, match: sm } : { name };
  });
  if (params.length > 0) out.queryParams = params;
  return out;
}

function headerMatch(name: string, m: IstioStringMatch, invert: boolean): HeaderMatch {
  const out: HeaderMatch = { name: name.toLowerCase() };
  const sm = stringMatch(m);
  if (sm) out.match = sm;
  if (invert) out.invert = true;
  return out;
}
