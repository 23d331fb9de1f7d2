// Turns a requested host into a metric label value with bounded cardinality, for the egress metrics.
// Scheme: allow-listed hosts are themselves (a wildcard entry labels every host it covers with the pattern);
// the first `maxOtherHosts` other well-formed names keep their own value; after that they become "other".
// Malformed names become "invalid". So a client inventing host names can add at most maxOtherHosts series.

export const OTHER_HOST = 'other';
export const INVALID_HOST = 'invalid';

const HOST_NAME = /^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$/;
const IPV6 = /^[0-9a-f:.]+$/;

export class HostLabeler {
  readonly #maxOtherHosts: number;
  #exact = new Set<string>();
  /** Wildcard entries as [suffix including the dot, label], e.g. ['.example.com', '*.example.com']. */
  #wildcards: [string, string][] = [];
  readonly #others = new Set<string>();

  constructor(maxOtherHosts = 50) {
    this.#maxOtherHosts = maxOtherHosts;
  }

  /** Sets the egress allow-list (ServiceEntry hosts: exact names or `*.domain`). */
  setAllowList(hosts: Iterable<string>): void {
    this.#exact = new Set();
    this.#wildcards = [];
    for (const raw of hosts) {
      const host = raw.trim().toLowerCase();
      if (host === '*') continue;
      if (host.startsWith('*.')) this.#wildcards.push([host.slice(1), host]);
      else this.#exact.add(host);
    }
  }

  /** The label value for a host as a client gave it (maybe with a port or a trailing dot). */
  label(rawHost: string): string {
    const host = normalizeHost(rawHost);
    if (host === undefined) return INVALID_HOST;
    if (this.#exact.has(host)) return host;
    for (const [suffix, pattern] of this.#wildcards) {
      if (host.endsWith(suffix) && host.length > suffix.length) return pattern;
    }
    if (this.#others.has(host)) return host;
    if (this.#others.size < this.#maxOtherHosts) {
      this.#others.add(host);
      return host;
    }
    return OTHER_HOST;
  }
}

/** Lower-cases, strips a port, brackets and a trailing dot; undefined when it is not a plausible host. */
export function normalizeHost(raw: string): string | undefined {
  let host = raw.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return undefined;
    host = host.slice(1, end);
    return host !== '' && IPV6.test(host) ? host : undefined;
  }
  const colon = host.indexOf(':');
  if (colon >= 0) {
    // Several colons without brackets: a bare IPv6 address.
    if (host.indexOf(':', colon + 1) >= 0) return IPV6.test(host) ? host : undefined;
    host = host.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253 || !HOST_NAME.test(host)) return undefined;
  return host;
}
