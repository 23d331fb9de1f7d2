// The router's lookup: authority -> virtual host (Envoy's domain precedence) -> first matching route.
import type { VirtualHost } from '@strait/api';
import { DomainIndex, type MatchRequest } from '@strait/api/routing';
import type { TokenBucketLimiter } from '../filters/rate-limit.ts';
import { CompiledRoute } from './compiled-route.ts';

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

/**
 * Built once per listener per snapshot; `match` is called per request. Virtual hosts are chosen by
 * authority, ignoring case and port, in Envoy's order (@strait/api/routing's DomainIndex, which
 * straitctl describe uses too). Within a virtual host the first route whose match holds wins. Throws STRAIT_SNAPSHOT_INVALID (naming the field) for a bad regex,
 * header op or domain pattern.
 */
export class RouteTable {
  readonly virtualHosts: readonly CompiledVirtualHost[];
  readonly #hosts: DomainIndex<HostEntry>;
  readonly #limiters = new Map<string, TokenBucketLimiter>();

  constructor(virtualHosts: VirtualHost[], options: RouteTableOptions = {}) {
    const where = options.where ?? 'virtualHosts';
    const compiled: CompiledVirtualHost[] = [];
    const entries: { domains: readonly string[]; entry: HostEntry; where: string }[] = [];

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
      entries.push({ domains: vh.domains, entry, where: `${where}[${vi}].domains` });
    });
    this.virtualHosts = compiled;
    this.#hosts = new DomainIndex(entries);
  }

  /** The virtual host for an authority (`Host` header value, port allowed), or undefined. */
  findVirtualHost(authority: string): CompiledVirtualHost | undefined {
    return this.#hosts.find(authority)?.vhost;
  }

  /** The virtual host and first route that match the request, or undefined (404 NR). */
  match(req: MatchRequest): RouteMatchResult {
    const entry = this.#hosts.find(req.authority);
    if (entry === undefined) return undefined;
    const routes = entry.vhost.routes;
    const q = req.path.indexOf('?');
    const pathEnd = q < 0 ? req.path.length : q;
    for (let i = 0; i < routes.length; i++) {
      if ((routes[i] as CompiledRoute).matcher.matches(req, pathEnd)) return entry.results[i];
    }
    return undefined;
  }

  /** The rate limiter of route `virtualHost/route` in this table, if it has one. */
  limiterFor(qualifiedName: string): TokenBucketLimiter | undefined {
    return this.#limiters.get(qualifiedName);
  }
}
