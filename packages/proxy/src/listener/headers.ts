// Header hygiene between a downstream and an upstream: hop-by-hop headers out, proxy headers in.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/**
 * Headers that describe one connection and never travel past a proxy (RFC 9110 §7.6.1), plus Expect:
 * like Envoy, the proxy answers `Expect: 100-continue` itself and sends the body on without it.
 */
const HOP_BY_HOP = new Set([
  'expect',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

export type HeaderMap = Record<string, string | string[] | undefined>;

/** Names listed in a Connection header, lower-cased. */
function connectionTokens(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  if (text === 'keep-alive' || text === 'close') return undefined; // the common cases name nothing else
  return text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
}

/**
 * Copies headers without the hop-by-hop ones and those the Connection header names.
 * `keepUpgrade` keeps Connection: upgrade and Upgrade for a WebSocket hand-shake.
 */
export function copyEndToEnd(headers: IncomingHttpHeaders, keepUpgrade = false): HeaderMap {
  const named = connectionTokens(headers.connection);
  const out: HeaderMap = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name)) continue;
    if (named?.includes(name)) continue;
    out[name] = headers[name];
  }
  if (keepUpgrade && headers.upgrade !== undefined) {
    out.connection = 'upgrade';
    out.upgrade = headers.upgrade;
  }
  return out;
}

/** Appends a value to a comma-separated header. */
export function appendHeader(headers: HeaderMap, name: string, value: string): void {
  const old = headers[name];
  if (old === undefined) headers[name] = value;
  else headers[name] = `${Array.isArray(old) ? old.join(', ') : old}, ${value}`;
}

/** True when the raw request carries more than one Host header (Node keeps only the first). */
export function hasDuplicateHost(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++seen > 1) return true;
  }
  return false;
}

/** Whether the request has a body to stream (a length above zero, or chunked). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}
