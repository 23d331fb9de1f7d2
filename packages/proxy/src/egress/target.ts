// Works out where a forward-proxy request wants to go: absolute-form `http://…`, CONNECT `host:port`,
// or origin-form with the Host header. Refuses anything ambiguous (Host naming a different target).
import { echo, formatAuthority, type HostKind, parseAuthority } from './host.ts';

export type ForwardTarget = {
  ok: true;
  /** Normal form: lower-case, no trailing dot; IPv6 without brackets, canonical spelling. */
  host: string;
  port: number;
  isConnect: boolean;
  /** Origin-form path and query for HTTP requests ('/' at least); '' for CONNECT. */
  path: string;
  /** What kind of host this is. */
  kind: HostKind;
  /** `host:port` (IPv6 in brackets), e.g. for a Host header or a log line. */
  authority: string;
};

export type ForwardTargetError = {
  ok: false;
  /** The host as far as it could be read (cut to a safe length); '' when there was none. */
  host: string;
  reason: string;
  /** 'host-mismatch' when the Host header disagrees with the target; otherwise 'bad-target'. */
  code: 'bad-target' | 'host-mismatch';
  /** The target's port when it could be read. */
  port?: number;
};

export type ForwardTargetResult = ForwardTarget | ForwardTargetError;

export interface ForwardRequest {
  method: string;
  url: string;
  /** The Host header, if any. */
  host: string | undefined;
}

const HTTP_PORT = 80;
/** A Host header without a port on a CONNECT request is read as the HTTPS port. */
const CONNECT_DEFAULT_PORT = 443;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

function bad(host: string, reason: string, port?: number): ForwardTargetError {
  return port === undefined
    ? { ok: false, host, reason, code: 'bad-target' }
    : { ok: false, host, reason, code: 'bad-target', port };
}

/** Parses a forward-proxy request's target. Never throws. */
export function parseForwardTarget(req: ForwardRequest): ForwardTargetResult {
  const url = req.url ?? '';
  const hostHeader = req.host;
  if (req.method.toUpperCase() === 'CONNECT') return connectTarget(url, hostHeader);
  if (url.startsWith('/')) return originFormTarget(url, hostHeader);
  const scheme = SCHEME.exec(url);
  if (scheme === null) return bad('', 'request target is neither absolute-form nor origin-form');
  const name = (scheme[1] ?? '').toLowerCase();
  if (name === 'https') return bad('', 'https:// in absolute form is refused: use CONNECT');
  if (name !== 'http') return bad('', `unsupported scheme ${echo(name)}`);
  return absoluteFormTarget(url.slice(scheme[0].length), hostHeader);
}

function connectTarget(url: string, hostHeader: string | undefined): ForwardTargetResult {
  const authority = parseAuthority(url);
  if (!authority.ok) return bad(authority.host, `CONNECT target: ${authority.reason}`);
  if (authority.port === undefined) return bad(authority.host, 'CONNECT target needs a port');
  const { host, kind, port } = authority;
  const mismatch = checkHostHeader(hostHeader, host, port, CONNECT_DEFAULT_PORT);
  if (mismatch !== undefined) return mismatch;
  return { ok: true, host, port, isConnect: true, path: '', kind, authority: formatAuthority(host, port) };
}

function absoluteFormTarget(rest: string, hostHeader: string | undefined): ForwardTargetResult {
  let end = rest.length;
  for (const stop of ['/', '?', '#']) {
    const at = rest.indexOf(stop);
    if (at >= 0 && at < end) end = at;
  }
  const authorityText = rest.slice(0, end);
  if (authorityText === '') return bad('', 'absolute-form target has no host');
  const authority = parseAuthority(authorityText);
  if (!authority.ok) return bad(authority.host, authority.reason);
  const { host, kind } = authority;
  const port = authority.port ?? HTTP_PORT;
  const mismatch = checkHostHeader(hostHeader, host, port, HTTP_PORT);
  if (mismatch !== undefined) return mismatch;
  return {
    ok: true,
    host,
    port,
    isConnect: false,
    path: originPath(rest.slice(end)),
    kind,
    authority: formatAuthority(host, port),
  };
}

function originFormTarget(url: string, hostHeader: string | undefined): ForwardTargetResult {
  if (hostHeader === undefined || hostHeader === '')
    return bad('', 'origin-form request without a Host header');
  const authority = parseAuthority(hostHeader);
  if (!authority.ok) return bad(authority.host, `Host header: ${authority.reason}`);
  const { host, kind } = authority;
  const port = authority.port ?? HTTP_PORT;
  return {
    ok: true,
    host,
    port,
    isConnect: false,
    path: originPath(url),
    kind,
    authority: formatAuthority(host, port),
  };
}

/** Path and query without any fragment; '/' when empty, a leading '/' before a bare query. */
function originPath(text: string): string {
  const hash = text.indexOf('#');
  const withoutFragment = hash >= 0 ? text.slice(0, hash) : text;
  if (withoutFragment === '') return '/';
  return withoutFragment.startsWith('/') ? withoutFragment : `/${withoutFragment}`;
}

/** A Host header, when present, must name the same host and port as the request target. */
function checkHostHeader(
  hostHeader: string | undefined,
  host: string,
  port: number,
  defaultPort: number,
): ForwardTargetError | undefined {
  if (hostHeader === undefined) return undefined;
  const header = parseAuthority(hostHeader);
  if (!header.ok) return bad(host, `Host header: ${header.reason}`, port);
  const headerPort = header.port ?? defaultPort;
  if (header.host === host && headerPort === port) return undefined;
  return {
    ok: false,
    host,
    port,
    code: 'host-mismatch',
    reason: `Host header names ${echo(formatAuthority(header.host, headerPort))}, not the request target`,
  };
}
