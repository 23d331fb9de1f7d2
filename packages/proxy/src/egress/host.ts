// Strict host and authority parsing shared by the target parser and the allow-list: one normal form
// (lower-case, no trailing dot, canonical IP spelling) so that two spellings of a host compare equal.
import { parseIp } from './ip.ts';

export type HostKind = 'name' | 'ipv4' | 'ipv6';

export type HostResult = { ok: true; host: string; kind: HostKind } | { ok: false; reason: string };

export type AuthorityResult =
  | { ok: true; host: string; kind: HostKind; port: number | undefined }
  | { ok: false; host: string; reason: string };

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** A last label that a resolver would read as a number (decimal or 0x hex): the name is really an IP. */
const NUMERIC_LABEL = /^(?:\d+|0x[0-9a-f]*)$/;
const PORT = /^\d{1,5}$/;

/** Longest host text echoed back in reasons and deny bodies. */
const MAX_ECHO = 255;

/** Cuts untrusted text to a length that is safe to echo in a message. */
export function echo(text: string): string {
  return text.length > MAX_ECHO ? `${text.slice(0, MAX_ECHO)}…` : text;
}

/**
 * Normalises a host: a DNS name, a canonical dotted quad, or an IPv6 literal (brackets optional).
 * Lower-cases, drops one trailing dot, rejects userinfo, ports, zone ids, empty labels, odd characters
 * and numeric names that a resolver would turn into an IPv4 address (`2130706433`, `0x7f.1`, `127.1`).
 */
export function normalizeHost(raw: string): HostResult {
  if (raw.length === 0) return { ok: false, reason: 'empty host' };
  if (raw.length > 300) return { ok: false, reason: 'host is too long' };
  if (raw.includes('@')) return { ok: false, reason: 'userinfo is not allowed in the host' };
  if (raw.startsWith('[') || raw.includes(':')) {
    const ip = parseIp(raw.startsWith('[') ? raw : `[${raw}]`);
    if (ip === undefined || ip.family !== 6) return { ok: false, reason: 'malformed IPv6 literal' };
    return { ok: true, host: ip.canonical, kind: 'ipv6' };
  }
  let host = raw.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253) return { ok: false, reason: 'host has a bad length' };
  const ip = parseIp(host);
  if (ip !== undefined) return { ok: true, host: ip.canonical, kind: 'ipv4' };
  const labels = host.split('.');
  for (const label of labels) {
    if (!LABEL.test(label)) return { ok: false, reason: 'host contains characters outside a host name' };
  }
  if (NUMERIC_LABEL.test(labels[labels.length - 1] ?? '')) {
    return { ok: false, reason: 'host looks like a non-canonical IPv4 address' };
  }
  return { ok: true, host, kind: 'name' };
}

/** Parses a port written in decimal (1-65535). */
export function parsePort(text: string): number | undefined {
  if (!PORT.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** Parses `host`, `host:port`, `[v6]` or `[v6]:port` (a Host header or a CONNECT target). */
export function parseAuthority(raw: string): AuthorityResult {
  const fail = (reason: string): AuthorityResult => ({ ok: false, host: echo(raw), reason });
  if (raw.includes('@')) return fail('userinfo is not allowed');
  let hostText: string;
  let portText: string | undefined;
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close < 0) return fail('unclosed IPv6 bracket');
    hostText = raw.slice(0, close + 1);
    const rest = raw.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return fail('junk after IPv6 literal');
      portText = rest.slice(1);
    }
  } else {
    const colon = raw.indexOf(':');
    if (colon >= 0 && raw.indexOf(':', colon + 1) >= 0) return fail('IPv6 literals need brackets');
    hostText = colon >= 0 ? raw.slice(0, colon) : raw;
    portText = colon >= 0 ? raw.slice(colon + 1) : undefined;
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = parsePort(portText);
    if (port === undefined) return fail('malformed port');
  }
  const host = normalizeHost(hostText);
  if (!host.ok) return fail(host.reason);
  return { ok: true, host: host.host, kind: host.kind, port };
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatAuthority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
