// What each listener kind does with a request before the filters: how it reads the target (origin or
// absolute form at gateways and inbound, forward-proxy form at outbound and egress) and how it finds the
// route (egress policy first at the egress gateway; policy as the fallback at a sidecar's outbound).
import { Errors, type ListenerKind, PASSTHROUGH_CLUSTER, ResponseFlags } from '@strait/api';
import { destinationPort, normalizeTarget } from '@strait/api/routing';
import {
  DENY_CONTENT_TYPE,
  denyBody,
  denyReasonLabel,
  denyTarget,
  type EgressDenied,
  parseForwardTarget,
} from '../egress/index.ts';
import { type LocalReply, replyFor } from '../router/local-reply.ts';
import type { Stream, Target } from './stream.ts';

/** What a listener kind decides before the filters run. */
export interface ListenerProfile {
  /** Istio's reporter for this side of the hop. */
  readonly reporter: 'source' | 'destination';
  /** CONNECT is served (a forward proxy) or refused with 405. */
  readonly acceptsConnect: boolean;
  /** The request's target, or a local answer (bad target, egress denial). */
  target(stream: Stream): Target | LocalReply;
  /** Sets the route (or the passthrough cluster) on the stream; a reply or a promise of one when refused. */
  resolve(stream: Stream): LocalReply | undefined | Promise<LocalReply | undefined>;
}

/** RFC 9110 §9.3.7: `OPTIONS *` asks about the server itself; the proxy answers it like a ping. */
const OPTIONS_ASTERISK: LocalReply = {
  status: 200,
  flag: ResponseFlags.NONE,
  body: '',
  headers: ['allow', 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS'],
};

const NO_ROUTE = replyFor(Errors.NO_ROUTE, ResponseFlags.NO_ROUTE, 'no route\n');

function badTarget(why: string): LocalReply {
  return replyFor(
    Errors.BAD_HTTP_REQUEST,
    ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR,
    `bad request target: ${why}\n`,
  );
}

function invalidPath(path: string): LocalReply {
  const shown = path.length > 64 ? `${path.slice(0, 64)}…` : path;
  return replyFor(
    Errors.INVALID_PATH,
    ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR,
    `${Errors.INVALID_PATH.message}: ${shown}\n`,
  );
}

/** The 403 for an egress denial, counted and logged; the body names the host and the reason. */
export function denialReply(stream: Stream, denied: EgressDenied): LocalReply {
  stream.ctx.observer.egressDenied(denyReasonLabel(denied.code), denied.host);
  stream.ctx.logger.info(
    { host: denied.host, port: denied.port, reason: denied.reason, code: denied.code },
    'egress denied',
  );
  return {
    status: Errors.EGRESS_DENIED.status,
    flag: ResponseFlags.UNAUTHORIZED_EXTERNAL,
    body: denyBody(denied),
    headers: ['content-type', DENY_CONTENT_TYPE],
  };
}

/** Origin-form, absolute-form (its authority replaces Host, RFC 9112 §3.2.2) and `OPTIONS *`. */
function originTarget(stream: Stream): Target | LocalReply {
  const exchange = stream.exchange;
  const url = exchange.target;
  let authority = exchange.headers.get('host') ?? '';
  let raw = url;
  let defaultPort = 80;
  if (url.charCodeAt(0) !== 0x2f /* / */) {
    if (url === '*')
      return exchange.method === 'OPTIONS' ? OPTIONS_ASTERISK : badTarget('* is only for OPTIONS');
    const absolute = parseAbsoluteForm(url);
    if (!absolute) return badTarget('expected a path or an absolute http URL');
    ({ authority, path: raw, defaultPort } = absolute);
  }
  const path = normalizeTarget(raw, stream.config.listener.pathNormalization);
  if (path === undefined) return invalidPath(raw);
  return { authority, path, host: stripPort(authority), port: portOf(authority, defaultPort) };
}

/** A forward proxy's target: absolute-form (or origin-form by Host), checked for every bypass trick. */
function forwardTarget(stream: Stream): Target | LocalReply {
  const exchange = stream.exchange;
  const t = parseForwardTarget({
    method: exchange.method,
    url: exchange.target,
    host: exchange.headers.get('host'),
  });
  if (!t.ok) return denialReply(stream, denyTarget(t));
  const path = normalizeTarget(t.path, stream.config.listener.pathNormalization);
  if (path === undefined) return invalidPath(t.path);
  const authority = t.port === 80 ? t.host : `${t.host}:${t.port}`;
  return { authority, path, host: t.host, port: t.port };
}

function matchRoute(stream: Stream): boolean {
  const target = stream.target as Target;
  const listener = stream.config.listener;
  const match = stream.config.routes.match({
    authority: target.authority,
    path: target.path,
    method: stream.method,
    headers: stream.exchange.headers,
    port: destinationPort(listener.kind, listener.port, target.port),
  });
  stream.route = match?.route;
  return match !== undefined;
}

/** Asks the egress policy; on yes the request may leave through the passthrough cluster (or a route). */
async function checkEgress(stream: Stream, routeAfter: boolean): Promise<LocalReply | undefined> {
  const target = stream.target as Target;
  const decision = await stream.ctx.egress.check({ host: target.host, port: target.port });
  if (!decision.allowed) return denialReply(stream, decision);
  stream.ctx.observer.egressAllowed(decision.host);
  stream.originalDestination = { address: decision.address, port: decision.connectPort };
  if (!(routeAfter && matchRoute(stream))) stream.clusterName = PASSTHROUGH_CLUSTER;
  return undefined;
}

const ORIGIN_PROFILE = (reporter: 'source' | 'destination'): ListenerProfile => ({
  reporter,
  acceptsConnect: false,
  target: originTarget,
  resolve: (stream) => (matchRoute(stream) ? undefined : NO_ROUTE),
});

export const PROFILES: Record<ListenerKind, ListenerProfile> = {
  gateway: ORIGIN_PROFILE('source'),
  inbound: ORIGIN_PROFILE('destination'),
  outbound: {
    reporter: 'source',
    acceptsConnect: true,
    target: forwardTarget,
    // Mesh services and registered external hosts have routes; anything else only by policy (ALLOW_ANY).
    resolve: (stream) => (matchRoute(stream) ? undefined : checkEgress(stream, false)),
  },
  egress: {
    reporter: 'source',
    acceptsConnect: true,
    target: forwardTarget,
    resolve: (stream) => checkEgress(stream, true),
  },
};

/** An absolute-form target `http://authority/path?query` (or https), or undefined. Userinfo is refused. */
function parseAbsoluteForm(
  url: string,
): { authority: string; path: string; defaultPort: number } | undefined {
  const m = /^(https?):\/\/([^/?#]*)(.*)$/is.exec(url);
  if (!m) return undefined;
  const [, scheme, authority = '', rest = ''] = m;
  if (authority === '' || authority.includes('@')) return undefined;
  const path = rest === '' ? '/' : rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`;
  return { authority, path, defaultPort: scheme?.toLowerCase() === 'https' ? 443 : 80 };
}

export function stripPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end > 0 ? authority.slice(1, end) : authority;
  }
  const colon = authority.lastIndexOf(':');
  return (colon >= 0 ? authority.slice(0, colon) : authority).toLowerCase();
}

function portOf(authority: string, fallback: number): number {
  const colon = authority.lastIndexOf(':');
  if (colon < 0 || authority.endsWith(']')) return fallback;
  const n = Number(authority.slice(colon + 1));
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : fallback;
}
