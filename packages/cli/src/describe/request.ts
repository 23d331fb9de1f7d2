// straitctl describe request: why a request sent from one proxy goes where it goes, worked out from the
// snapshot that proxy runs with the proxy's own matching code (@strait/api/routing): the listener, the
// virtual host and route that match and the near misses, the clusters with their endpoints' health, the
// retry, timeout and fault, the policies that apply, and what the proxy answers when nothing healthy is left.
import {
  type Cluster,
  type EgressPolicy,
  Errors,
  type Listener,
  type LiveHost,
  type NodeRole,
  ResponseFlags,
  type Route,
  type Snapshot,
  type TokenBucket,
  type VirtualHost,
} from '@strait/api';
import {
  DomainIndex,
  destinationPort,
  headerValuesOf,
  type MatchRequest,
  normalizeTarget,
  RouteMatcher,
} from '@strait/api/routing';
import { CliError } from '../client.ts';
import { authorizationView } from './authorization.ts';
import { type ClusterState, clusterState } from './clusters.ts';

export interface RequestInput {
  url: string;
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** A listener name or port to use instead of the one the proxy's role sends this request to. */
  listener?: string;
}

export interface RouteMiss {
  route: string;
  reason: string;
}

export interface WeightedClusterView {
  cluster: string;
  weight: number;
  /** The weight as a share of the route's total. */
  percent: number;
  state: ClusterState | undefined;
}

export interface RequestDescription {
  listener: Pick<Listener, 'name' | 'kind' | 'port' | 'pathNormalization'>;
  authority: string;
  method: string;
  /** The path as the client sent it and after the listener's normalization (what routing sees). */
  path: string;
  normalizedPath: string | undefined;
  /** For forward-proxy listeners: what the egress policy decides before (egress) or instead of (outbound) routing. */
  egress?: string;
  virtualHost?: { name: string; domains: string[] };
  /** Why no virtual host matched. */
  noVirtualHost?: string;
  route?: { name: string; index: number };
  /** The routes before the match (all of them when none matched) and why each failed. */
  nearMisses: RouteMiss[];
  directResponse?: { status: number; body?: string };
  clusters: WeightedClusterView[];
  timeout?: string;
  retries?: string;
  fault?: string;
  mirror?: string;
  rewrite?: string;
  policies: string[];
  /** What the proxy answers: the cluster pick, or its local answer with the flag. */
  outcome: string;
}

const LISTENER_FOR_ROLE: Record<NodeRole, Listener['kind']> = {
  sidecar: 'outbound',
  ingress: 'gateway',
  egress: 'egress',
};

function chooseListener(snapshot: Snapshot, role: NodeRole, input: RequestInput, url: URL): Listener {
  const listeners = snapshot.listeners;
  if (input.listener !== undefined) {
    const found = listeners.find((l) => l.name === input.listener || String(l.port) === input.listener);
    if (!found)
      throw new CliError(
        `no listener "${input.listener}" on this proxy; it has ${listeners.map((l) => `${l.name} (${l.port})`).join(', ')}.`,
      );
    return found;
  }
  const kind = LISTENER_FOR_ROLE[role];
  const ofKind = listeners.filter((l) => l.kind === kind);
  const byPort = ofKind.find((l) => url.port !== '' && String(l.port) === url.port);
  const found = byPort ?? ofKind[0];
  if (!found) throw new CliError(`the proxy has no ${kind} listener; use --listener NAME.`);
  return found;
}

function parseUrl(text: string): URL {
  try {
    const url = new URL(text);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // falls through to the error below
  }
  throw new CliError(`expected an http:// URL such as http://service-b/path, got "${text}".`);
}

/** Works out what the proxy with this snapshot and role does with the request. */
export function describeRequest(
  snapshot: Snapshot,
  role: NodeRole,
  input: RequestInput,
  live: Map<string, LiveHost[]> | undefined,
): RequestDescription {
  const url = parseUrl(input.url);
  const listener = chooseListener(snapshot, role, input, url);
  const forwardProxy = listener.kind === 'outbound' || listener.kind === 'egress';
  const defaultPort = url.protocol === 'https:' ? 443 : 80;
  const port = url.port === '' ? defaultPort : Number(url.port);
  // Forward proxies take the URL's authority (port 80 left out); the others the Host header, else the URL's.
  const authority = forwardProxy
    ? port === 80
      ? url.hostname
      : `${url.hostname}:${port}`
    : (input.headers.host ?? url.host);
  const rawPath = `${url.pathname}${url.search}`;
  const normalizedPath = normalizeTarget(rawPath, listener.pathNormalization);
  const description: RequestDescription = {
    listener: {
      name: listener.name,
      kind: listener.kind,
      port: listener.port,
      pathNormalization: listener.pathNormalization,
    },
    authority,
    method: input.method,
    path: rawPath,
    normalizedPath,
    nearMisses: [],
    clusters: [],
    policies: [],
    outcome: '',
  };
  if (normalizedPath === undefined) {
    description.outcome = `${Errors.INVALID_PATH.status} ${ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR}: the path cannot be normalized`;
    return description;
  }
  const egressVerdict =
    listener.kind === 'egress' ? egressDecision(snapshot.egress, url.hostname, port) : undefined;
  if (egressVerdict && !egressVerdict.allowed) {
    description.egress = egressVerdict.text;
    description.outcome = `${Errors.EGRESS_DENIED.status} egress denied (${ResponseFlags.UNAUTHORIZED_EXTERNAL}): ${egressVerdict.text}`;
    return description;
  }
  if (egressVerdict) description.egress = egressVerdict.text;

  const request: MatchRequest = {
    authority,
    path: normalizedPath,
    method: input.method,
    headers: headerValuesOf(input.headers),
    port: destinationPort(listener.kind, listener.port, port),
  };
  const where = `listener ${listener.name}`;
  const hosts = new DomainIndex(
    listener.virtualHosts.map((vh, i) => ({
      domains: vh.domains,
      entry: vh,
      where: `${where} virtualHosts[${i}]`,
    })),
  );
  const vhost = hosts.find(authority);
  if (listener.rateLimit) description.policies.push(`listener rate limit: ${bucketText(listener.rateLimit)}`);
  if (!vhost) {
    description.noVirtualHost = `no virtual host of ${listener.name} has a domain matching "${authority}"${closestDomains(listener.virtualHosts)}`;
    description.outcome = noRouteOutcome(listener, snapshot.egress, url.hostname, port, description);
    return description;
  }
  description.virtualHost = { name: vhost.name, domains: [...vhost.domains] };
  let matched: { route: Route; index: number } | undefined;
  for (const [index, route] of vhost.routes.entries()) {
    const miss = new RouteMatcher(route.match, `${where} ${vhost.name}/${route.name}`).explain(request);
    if (miss) {
      description.nearMisses.push({ route: route.name, reason: miss.reason });
      continue;
    }
    matched = { route, index };
    break;
  }
  if (!matched) {
    description.outcome = noRouteOutcome(listener, snapshot.egress, url.hostname, port, description);
    return description;
  }
  const route = matched.route;
  description.route = { name: route.name, index: matched.index };
  // The authorization filter is first in the chain: a refusal comes before any direct response or upstream.
  const authz = authorizationView(listener, { ...request, headers: input.headers });
  description.policies.push(authz.policy);
  if (authz.denied) {
    description.outcome = authz.denied;
    return description;
  }
  if (route.directResponse) {
    description.directResponse = route.directResponse;
    description.outcome = `answered by the proxy itself: ${route.directResponse.status} (direct response)`;
    return description;
  }
  const action = route.route;
  if (!action) return description;
  const total = action.clusters.reduce((sum, c) => sum + c.weight, 0);
  const clusters = new Map(snapshot.clusters.map((c) => [c.name, c]));
  description.clusters = action.clusters.map((wc) => ({
    cluster: wc.cluster,
    weight: wc.weight,
    percent: total > 0 ? (100 * wc.weight) / total : action.clusters.length === 1 ? 100 : 0,
    state: stateOf(clusters.get(wc.cluster), live),
  }));
  if (action.timeoutMs !== undefined) description.timeout = `${action.timeoutMs} ms for the whole request`;
  if (action.retry && action.retry.attempts > 0)
    description.retries = `${action.retry.attempts} more attempt${action.retry.attempts === 1 ? '' : 's'} on ${[
      ...action.retry.retryOn,
      ...(action.retry.retriableStatusCodes ?? []).map(String),
    ].join(
      ', ',
    )}${action.retry.perTryTimeoutMs !== undefined ? `, ${action.retry.perTryTimeoutMs} ms each` : ''}`;
  if (action.fault) description.fault = faultText(action.fault);
  if (action.mirror) description.mirror = `${action.mirror.percentage}% copied to ${action.mirror.cluster}`;
  if (action.rewrite)
    description.rewrite = [
      action.rewrite.prefix !== undefined ? `path prefix -> ${action.rewrite.prefix}` : '',
      action.rewrite.authority !== undefined ? `authority -> ${action.rewrite.authority}` : '',
    ]
      .filter(Boolean)
      .join(', ');
  if (action.rateLimit) description.policies.push(`route rate limit: ${bucketText(action.rateLimit)}`);
  description.outcome = clusterOutcome(description.clusters, action.fault !== undefined);
  return description;
}

function stateOf(
  cluster: Cluster | undefined,
  live: Map<string, LiveHost[]> | undefined,
): ClusterState | undefined {
  return cluster ? clusterState(cluster, live?.get(cluster.name)) : undefined;
}

function closestDomains(vhosts: readonly VirtualHost[]): string {
  const domains = vhosts.flatMap((vh) => vh.domains);
  if (domains.length === 0) return ' (it has no virtual hosts)';
  const shown = domains.slice(0, 12).join(', ');
  return ` (domains: ${shown}${domains.length > 12 ? `, and ${domains.length - 12} more` : ''})`;
}

/** Where a request no route took goes: a forward proxy asks its egress policy, the others answer 404 NR. */
function noRouteOutcome(
  listener: Listener,
  egress: EgressPolicy | undefined,
  host: string,
  port: number,
  description: RequestDescription,
): string {
  const nr = `${Errors.NO_ROUTE.status} ${ResponseFlags.NO_ROUTE} (no route)`;
  if (listener.kind === 'egress')
    return `passed through to ${host}:${port} (allowed by the egress policy, no route)`;
  if (listener.kind !== 'outbound') return nr;
  const verdict = egressDecision(egress, host, port);
  description.egress = `not a mesh service: ${verdict.text}`;
  return verdict.allowed
    ? `passed through to ${host}:${port} (the egress policy allows it)`
    : `${Errors.EGRESS_DENIED.status} egress denied (${ResponseFlags.UNAUTHORIZED_EXTERNAL}): ${verdict.text}`;
}

/**
 * The egress policy's decision on names alone, by the proxy's rule (the proxy also resolves the name and
 * refuses internal addresses at request time): the entries for the exact host, else those of the longest
 * matching `*.domain`; REGISTRY_ONLY lets out only their ports, ALLOW_ANY everything.
 */
export function egressDecision(
  egress: EgressPolicy | undefined,
  host: string,
  port: number,
): { allowed: boolean; text: string } {
  const mode = egress?.mode ?? 'REGISTRY_ONLY';
  const name = host.toLowerCase().replace(/\.$/, '');
  const rules = egress?.allow ?? [];
  let candidates = rules.filter((r) => r.host.trim().toLowerCase() === name);
  if (candidates.length === 0) {
    const suffixOf = (h: string) => h.trim().toLowerCase().slice(1);
    const wildcards = rules
      .filter((r) => r.host.trim().startsWith('*.'))
      .filter((r) => name.length > suffixOf(r.host).length && name.endsWith(suffixOf(r.host)));
    const longest = Math.max(0, ...wildcards.map((r) => r.host.trim().length));
    candidates = wildcards.filter((r) => r.host.trim().length === longest);
  }
  const rule = candidates.find((r) => r.ports.includes(port));
  if (rule)
    return {
      allowed: true,
      text: `${host}:${port} is on the allow-list (${rule.host}, ports ${rule.ports.join(',')})`,
    };
  if (mode === 'ALLOW_ANY') return { allowed: true, text: `ALLOW_ANY lets ${host}:${port} out` };
  if (candidates.length > 0)
    return {
      allowed: false,
      text: `REGISTRY_ONLY: ${host} is allowed on ports ${[...new Set(candidates.flatMap((r) => r.ports))].join(',')}, not ${port}`,
    };
  return {
    allowed: false,
    text: `REGISTRY_ONLY: ${host} is not on the allow-list (no ServiceEntry names it)`,
  };
}

function clusterOutcome(clusters: readonly WeightedClusterView[], faulty: boolean): string {
  const parts = clusters
    .filter((c) => c.weight > 0 || clusters.length === 1)
    .map((c) => {
      const share = clusters.length > 1 ? `${formatPercent(c.percent)} ` : '';
      if (!c.state)
        return `${share}${c.cluster}: 503 ${ResponseFlags.NO_CLUSTER} (the snapshot has no such cluster)`;
      return `${share}${c.cluster}: ${c.state.now}`;
    });
  return `${parts.join('; ')}${faulty ? ' (after the fault, if it strikes)' : ''}`;
}

export function formatPercent(p: number): string {
  return `${Number.isInteger(p) ? p : p.toFixed(1)}%`;
}

function bucketText(b: TokenBucket): string {
  return `${b.tokensPerFill} request${b.tokensPerFill === 1 ? '' : 's'} per ${b.fillIntervalMs} ms, bursts of ${b.maxTokens}; over it: ${Errors.RATE_LIMITED.status} ${ResponseFlags.RATE_LIMITED}`;
}

function faultText(f: NonNullable<NonNullable<Route['route']>['fault']>): string {
  const parts: string[] = [];
  if (f.delay)
    parts.push(
      `delay ${f.delay.fixedDelayMs} ms for ${f.delay.percentage}% (flag ${ResponseFlags.FAULT_DELAY})`,
    );
  if (f.abort)
    parts.push(
      `abort with ${f.abort.httpStatus} for ${f.abort.percentage}% (flag ${ResponseFlags.FAULT_ABORT})`,
    );
  return parts.join('; ');
}
