// Authority normalisation and virtual-host domain patterns (exact, `*suffix`, `prefix*`, `*`).
import { Errors, StraitError } from '../errors.ts';

/**
 * Reduces an authority (`Host` header or `:authority`) to the name used for virtual-host lookup:
 * lower-case, port removed, one trailing dot removed. IPv6 literals keep their brackets
 * (`[::1]:8080` -> `[::1]`); a bare IPv6 literal (`::1`) is given brackets so both forms meet.
 */
export function normalizeHost(authority: string): string {
  let host = authority;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    host = close < 0 ? host : host.slice(0, close + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      if (host.indexOf(':') !== colon) {
        // Two or more colons and no brackets: a bare IPv6 literal, which cannot carry a port.
        host = `[${host}]`;
      } else if (isPort(host, colon + 1)) {
        host = host.slice(0, colon);
      }
    }
  }
  if (host.length > 1 && host.charCodeAt(host.length - 1) === 0x2e /* . */) host = host.slice(0, -1);
  return host.toLowerCase();
}

/** Digits only (or empty, as in `host:`), or `*` for a domain pattern's any-port. */
function isPort(s: string, from: number): boolean {
  if (from === s.length - 1 && s.charCodeAt(from) === 0x2a /* * */) return true;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

export type DomainPattern =
  | { kind: 'any' }
  | { kind: 'exact'; host: string }
  | { kind: 'suffix'; suffix: string }
  | { kind: 'prefix'; prefix: string };

/**
 * Classifies one virtual-host domain. A leading `*` matches one or more characters before the rest
 * (`*.example.com`, `*-api.example.com`); a trailing `*` one or more after (`api.*`); `*` alone
 * matches anything. A `*` anywhere else is rejected.
 */
export function parseDomain(domain: string): DomainPattern {
  const host = normalizeHost(domain);
  if (host === '*') return { kind: 'any' };
  const star = host.indexOf('*');
  if (star < 0) return { kind: 'exact', host };
  if (host.indexOf('*', star + 1) < 0) {
    if (star === 0) return { kind: 'suffix', suffix: host.slice(1) };
    if (star === host.length - 1) return { kind: 'prefix', prefix: host.slice(0, -1) };
  }
  throw new StraitError(
    Errors.SNAPSHOT_INVALID,
    `domain "${domain}": a wildcard may only be the whole name, its first or its last character`,
  );
}
