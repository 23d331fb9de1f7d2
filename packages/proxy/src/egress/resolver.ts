// Name resolution for the egress checks: a lookup with a timeout, a short-lived answer cache and
// one shared lookup per name in flight, so a burst of requests does not flood the resolver threads.
import { lookup as dnsLookup } from 'node:dns/promises';

export type LookupFn = (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;
export type ResolvedAddress = { address: string; family: 4 | 6 };

export interface ResolverOptions {
  lookup?: LookupFn;
  /** Give up on a lookup after this long. Default 5000 ms. */
  timeoutMs?: number;
  /** Reuse a successful answer for this long; 0 turns the cache off. Default 5000 ms (Envoy's DNS refresh). */
  cacheTtlMs?: number;
  /** Most names kept; the oldest go first. Default 1000. */
  maxEntries?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export const DEFAULT_LOOKUP_TIMEOUT_MS = 5000;
export const DEFAULT_DNS_CACHE_TTL_MS = 5000;

/** dns.lookup (the system resolver, /etc/hosts included) with every address, in the order given. */
export const systemLookup: LookupFn = async (host) => {
  const found = await dnsLookup(host, { all: true, order: 'verbatim' });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

export class Resolver {
  readonly #lookup: LookupFn;
  readonly #timeoutMs: number;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { expires: number; addresses: ResolvedAddress[] }>();
  readonly #inFlight = new Map<string, Promise<ResolvedAddress[]>>();

  constructor(opts: ResolverOptions = {}) {
    this.#lookup = opts.lookup ?? systemLookup;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
    this.#ttlMs = opts.cacheTtlMs ?? DEFAULT_DNS_CACHE_TTL_MS;
    this.#maxEntries = opts.maxEntries ?? 1000;
    this.#now = opts.now ?? Date.now;
  }

  /** All addresses of `host`; rejects on failure or timeout (failures are not cached). */
  resolve(host: string): Promise<ResolvedAddress[]> {
    const cached = this.#cache.get(host);
    if (cached !== undefined) {
      if (cached.expires > this.#now()) return Promise.resolve(cached.addresses);
      this.#cache.delete(host);
    }
    const pending = this.#inFlight.get(host);
    if (pending !== undefined) return pending;
    // A lookup that throws synchronously still becomes a rejection.
    const lookup = new Promise<ResolvedAddress[]>((resolve) => resolve(this.#lookup(host)));
    const started = withTimeout(lookup, this.#timeoutMs).then(
      (addresses) => {
        this.#inFlight.delete(host);
        this.#remember(host, addresses);
        return addresses;
      },
      (err: unknown) => {
        this.#inFlight.delete(host);
        throw err;
      },
    );
    this.#inFlight.set(host, started);
    return started;
  }

  #remember(host: string, addresses: ResolvedAddress[]): void {
    if (this.#ttlMs <= 0 || addresses.length === 0) return;
    if (this.#cache.size >= this.#maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(host, { expires: this.#now() + this.#ttlMs, addresses });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lookup timed out after ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
