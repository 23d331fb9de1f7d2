// The router's lookup: authority -> virtual host (Envoy's domain precedence) -> first matching route.
import type { VirtualHost } from '@strait/api';
import type { TokenBucketLimiter } from '../filters/rate-limit.ts';
import { CompiledRoute, type RouteRequest } from './compiled-route.ts';
import { normalizeHost, parseDomain } from './host.ts';

/** A virtual host with its routes compiled, in snapshot order. */
export interface CompiledVirtualHost {
  readonly name: string;
  readonly domains: readonly string[];
  readonly virtualHost: VirtualHost;
  readonly routes: readonly CompiledRoute[];
}

/** A successful lookup. The same frozen object is returned for every request that picks this route. */
export interface MatchedRoute {
  readonly vhost: CompiledVirtualHost;
  readonly route: CompiledRoute;
}

/** undefined means no virtual host or no route matched: answer 404 with flag NR. */
export type RouteMatchResult = MatchedRoute | undefined;

export interface RouteTableOptions {
  /**
   * The table this one replaces. Rate limiters of routes with the same `virtualHost/route` name and
   * the same bucket settings are carried over, so a config push does not refill every bucket.
   */
  previous?: RouteTable | undefined;
  /** Clock for the rate limiters (tests); default performance.now. */
  now?: (() => number) | undefined;
  /** Where the virtual hosts came from, for error messages (e.g. `listeners[0]`). */
  where?: string | undefined;
}

interface HostEntry {
  readonly vhost: CompiledVirtualHost;
  readonly results: readonly MatchedRoute[];
}

/** Wildcard patterns of one length, so each length costs one Map lookup. */
interface WildcardGroup {
  readonly length: number;
  readonly byText: Map<string, HostEntry>;
}

// Authorities seen recently -> their host entry (null: none). Bounded: cleared when full.
const AUTHORITY_CACHE_LIMIT = 1024;

/**
 * Built once per listener per snapshot; `match` is called per request. Virtual hosts are chosen by
 * authority, ignoring case and port, in Envoy's order: exact domain, then the longest `*suffix`
 * wildcard, then the longest `prefix*` wildcard, then `*`. Within a virtual host the first route
 * whose match holds wins. Throws STRAIT_SNAPSHOT_INVALID (naming the field) for a bad regex,
 * header op or domain pattern.
 */
export class RouteTable {
  readonly virtualHosts: readonly CompiledVirtualHost[];
  readonly #exact = new Map<string, HostEntry>();
  readonly #suffixes: readonly WildcardGroup[];
  readonly #prefixes: readonly WildcardGroup[];
  readonly #catchAll: HostEntry | undefined;
  readonly #cache = new Map<string, HostEntry | null>();
  readonly #limiters = new Map<string, TokenBucketLimiter>();

  constructor(virtualHosts: VirtualHost[], options: RouteTableOptions = {}) {
    const where = options.where ?? 'virtualHosts';
    const suffixes = new Map<number, Map<string, HostEntry>>();
    const prefixes = new Map<number, Map<string, HostEntry>>();
    let catchAll: HostEntry | undefined;
    const compiled: CompiledVirtualHost[] = [];

    virtualHosts.forEach((vh, vi) => {
      const routes = vh.routes.map((route, ri) => {
        const qualified = `${vh.name}/${route.name}`;
        const compiledRoute = new CompiledRoute(vh.name, route, `${where}[${vi}].routes[${ri}]`, {
          previousLimiter: options.previous?.limiterFor(qualified),
          now: options.now,
        });
        if (compiledRoute.rateLimiter && !this.#limiters.has(qualified)) {
          this.#limiters.set(qualified, compiledRoute.rateLimiter);
        }
        return compiledRoute;
      });
      const vhost: CompiledVirtualHost = Object.freeze({
        name: vh.name,
        domains: vh.domains,
        virtualHost: vh,
        routes,
      });
      compiled.push(vhost);
      const entry: HostEntry = {
        vhost,
        results: routes.map((route) => Object.freeze({ vhost, route })),
      };
      // First declaration wins when two virtual hosts claim the same domain.
      for (const domain of vh.domains) {
        const pattern = parseDomainAt(domain, `${where}[${vi}].domains`);
        switch (pattern.kind) {
          case 'any':
            catchAll ??= entry;
            break;
          case 'exact':
            if (!this.#exact.has(pattern.host)) this.#exact.set(pattern.host, entry);
            break;
          case 'suffix':
            addWildcard(suffixes, pattern.suffix, entry);
            break;
          case 'prefix':
            addWildcard(prefixes, pattern.prefix, entry);
            break;
        }
      }
    });
    this.virtualHosts = compiled;
    this.#suffixes = sortedGroups(suffixes);
    this.#prefixes = sortedGroups(prefixes);
    this.#catchAll = catchAll;
  }

  /** The virtual host for an authority (`Host` header value, port allowed), or undefined. */
  findVirtualHost(authority: string): CompiledVirtualHost | undefined {
    return this.#lookup(authority)?.vhost;
  }

  /** The virtual host and first route that match the request, or undefined (404 NR). */
  match(req: RouteRequest): RouteMatchResult {
    const entry = this.#lookup(req.authority);
    if (entry === undefined) return undefined;
    const routes = entry.vhost.routes;
    const q = req.path.indexOf('?');
    const pathEnd = q < 0 ? req.path.length : q;
    for (let i = 0; i < routes.length; i++) {
      if ((routes[i] as CompiledRoute).matches(req, pathEnd)) return entry.results[i];
    }
    return undefined;
  }

  /** The rate limiter of route `virtualHost/route` in this table, if it has one. */
  limiterFor(qualifiedName: string): TokenBucketLimiter | undefined {
    return this.#limiters.get(qualifiedName);
  }

  #lookup(authority: string): HostEntry | undefined {
    const cached = this.#cache.get(authority);
    if (cached !== undefined) return cached ?? undefined;
    const entry = this.#resolve(normalizeHost(authority));
    if (this.#cache.size >= AUTHORITY_CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(authority, entry ?? null);
    return entry;
  }

  #resolve(host: string): HostEntry | undefined {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    // A wildcard must stand for at least one character, so only patterns shorter than the host count.
    for (const group of this.#suffixes) {
      if (group.length >= host.length) continue;
      const hit = group.byText.get(host.slice(host.length - group.length));
      if (hit !== undefined) return hit;
    }
    for (const group of this.#prefixes) {
      if (group.length >= host.length) continue;
      const hit = group.byText.get(host.slice(0, group.length));
      if (hit !== undefined) return hit;
    }
    return this.#catchAll;
  }
}

function parseDomainAt(domain: string, where: string): ReturnType<typeof parseDomain> {
  try {
    return parseDomain(domain);
  } catch (err) {
    if (err instanceof Error) err.message = `${err.message} (at ${where})`;
    throw err;
  }
}

function addWildcard(groups: Map<number, Map<string, HostEntry>>, text: string, entry: HostEntry): void {
  let byText = groups.get(text.length);
  if (byText === undefined) {
    byText = new Map();
    groups.set(text.length, byText);
  }
  if (!byText.has(text)) byText.set(text, entry);
}

/** Longest first, so the most specific wildcard wins. */
function sortedGroups(groups: Map<number, Map<string, HostEntry>>): WildcardGroup[] {
  return [...groups.entries()].sort((a, b) => b[0] - a[0]).map(([length, byText]) => ({ length, byText }));
}
