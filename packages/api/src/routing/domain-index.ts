// Virtual-host lookup by authority, in Envoy's order: the exact domain, then the longest `*suffix` wildcard,
// then the longest `prefix*` wildcard, then `*`. The proxy's route table and straitctl describe share it.
import { normalizeHost, parseDomain } from './host.ts';

/** Wildcard patterns of one length, so each length costs one Map lookup. */
interface WildcardGroup<T> {
  readonly length: number;
  readonly byText: Map<string, T>;
}

// Authorities seen recently -> their entry (null: none). Bounded: cleared when full.
const AUTHORITY_CACHE_LIMIT = 1024;

/**
 * Built once from each entry's domains; `find` is called per request. Case and port are ignored. When two
 * entries claim the same domain, the first declared wins. Throws STRAIT_SNAPSHOT_INVALID (naming `where`)
 * for a domain with a `*` anywhere but first, last or alone.
 */
export class DomainIndex<T> {
  readonly #exact = new Map<string, T>();
  readonly #suffixes: readonly WildcardGroup<T>[];
  readonly #prefixes: readonly WildcardGroup<T>[];
  readonly #catchAll: T | undefined;
  readonly #cache = new Map<string, T | null>();

  constructor(entries: readonly { domains: readonly string[]; entry: T; where: string }[]) {
    const suffixes = new Map<number, Map<string, T>>();
    const prefixes = new Map<number, Map<string, T>>();
    let catchAll: T | undefined;
    for (const { domains, entry, where } of entries) {
      for (const domain of domains) {
        const pattern = parseDomainAt(domain, where);
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
    }
    this.#suffixes = sortedGroups(suffixes);
    this.#prefixes = sortedGroups(prefixes);
    this.#catchAll = catchAll;
  }

  /** The entry for an authority (`Host` header value, port allowed), or undefined. */
  find(authority: string): T | undefined {
    const cached = this.#cache.get(authority);
    if (cached !== undefined) return cached ?? undefined;
    const entry = this.#resolve(normalizeHost(authority));
    if (this.#cache.size >= AUTHORITY_CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(authority, entry ?? null);
    return entry;
  }

  #resolve(host: string): T | undefined {
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

function addWildcard<T>(groups: Map<number, Map<string, T>>, text: string, entry: T): void {
  let byText = groups.get(text.length);
  if (byText === undefined) {
    byText = new Map();
    groups.set(text.length, byText);
  }
  if (!byText.has(text)) byText.set(text, entry);
}

/** Longest first, so the most specific wildcard wins. */
function sortedGroups<T>(groups: Map<number, Map<string, T>>): WildcardGroup<T>[] {
  return [...groups.entries()].sort((a, b) => b[0] - a[0]).map(([length, byText]) => ({ length, byText }));
}
