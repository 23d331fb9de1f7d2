// The request path of one listener: hygiene, egress policy, route, filters, then the router's exchange.
// Gateway and inbound listeners take origin-form requests; outbound and egress are forward proxies.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Errors, PASSTHROUGH_CLUSTER, PEER_METADATA_HEADER, type PeerInfo, ResponseFlags } from '@strait/api';
import { headerValuesOf, normalizeTarget } from '@strait/api/routing';
import {
  DENY_CONTENT_TYPE,
  denyBody,
  denyReasonLabel,
  denyTarget,
  type EgressDecision,
  type EgressDenied,
  parseForwardTarget,
} from '../egress/index.ts';
import { applyHeaderOps, decideFault, decideMirror } from '../filters/index.ts';
import type { CompiledRoute } from '../router/index.ts';
import { labelsFor, type RequestSeries, type TcpSeries } from '../telemetry/index.ts';
import { answerAndClose, openTunnel, relayUpgrade, type TunnelStats } from '../tunnel/index.ts';
import type { Host, UpstreamCluster } from '../upstream/index.ts';
import type { ListenerConfig, ProxyContext } from './context.ts';
import { Exchange, type ExchangeOutcome } from './exchange.ts';
import { appendHeader, copyEndToEnd, type HeaderMap, hasBody, hasDuplicateHost } from './headers.ts';
import { PeerResolver } from './peers.ts';

/** Where a request is going, as read from its request line and Host. */
interface Target {
  authority: string;
  path: string;
  host: string;
  port: number;
}

/** A request answered before routing: an egress denial, or a local answer with its status and flag. */
type Refusal =
  | { denied: EgressDenied }
  | { status: number; flag: string; body: string; headers?: Record<string, string> };

/** How a client broke its own request: bad framing (answered 400 and the like) or going away. */
export type DownstreamFault = 'protocol' | 'disconnect';

/** RFC 9110 §9.3.7: `OPTIONS *` asks about the server itself; the proxy answers it like a ping. */
const OPTIONS_ASTERISK: Refusal = {
  status: 200,
  flag: ResponseFlags.NONE,
  body: '',
  headers: { allow: 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS' },
};

/** What one request resolved to before it goes upstream. */
interface Resolved extends Target {
  route: CompiledRoute | undefined;
  clusterName: string;
  originalDestination: { address: string; port: number } | undefined;
}

/** Per-request facts the access log and metrics need at the end. */
interface RequestRecord {
  start: number;
  startTime: number;
  method: string;
  path: string;
  authority: string;
  requestId: string;
  requestBytes: number;
  routeName: string;
  clusterName: string;
  /** The known caller (`namespace/workload`, inbound listeners only); "" when unknown or absent. */
  peerKey: string;
  remote: string;
  userAgent: string | undefined;
  faultDelayed: boolean;
}

/** The series of the last finished request and what it was looked up by. */
interface LastSeries {
  routeName: string;
  clusterName: string;
  hostKey: string;
  peerKey: string;
  cluster: UpstreamCluster | undefined;
  config: ListenerConfig;
  series: RequestSeries;
}

/** Response headers that describe the upstream connection, plus our own peer header: never sent on. */
const RESPONSE_HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
  PEER_METADATA_HEADER,
];

export class HttpListener {
  config: ListenerConfig;
  readonly #ctx: ProxyContext;
  #lastSeries: LastSeries | undefined;
  readonly #peers = new PeerResolver();
  /** The exchange streaming a request body from each connection, so a client fault ends it as the client's. */
  readonly #inFlight = new WeakMap<Socket, Exchange>();
  /** Connections open on this listener, and those answered 503 for arriving over its limit. */
  #open = 0;
  readonly #refused = new WeakSet<Socket>();

  constructor(ctx: ProxyContext, config: ListenerConfig) {
    this.#ctx = ctx;
    this.config = config;
  }

  get kind(): ListenerConfig['listener']['kind'] {
    return this.config.listener.kind;
  }

  // --- connections ---------------------------------------------------------------------------

  /**
   * Counts a new connection, or, when the listener is at its limit, answers it 503 at once and closes it
   * (Envoy's overload answer), so a flood of idle connections can never take every file descriptor.
   */
  accept = (socket: Socket): void => {
    const name = this.config.listener.name;
    if (this.#open >= this.config.maxConnections) {
      this.#refused.add(socket);
      this.#ctx.telemetry.connectionOverflow(name);
      answerAndClose(
        socket,
        Errors.OVERLOADED.status,
        `${Errors.OVERLOADED.message} (${this.config.maxConnections})\n`,
      );
      return;
    }
    this.#open++;
    this.#ctx.telemetry.connectionsChanged(name, 1);
    socket.once('close', () => {
      this.#open--;
      this.#ctx.telemetry.connectionsChanged(name, -1);
    });
  };

  // --- plain HTTP requests -------------------------------------------------------------------

  handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.#refused.has(req.socket)) return; // already answered 503 when it connected
    const rec = this.#record(req);
    if (hasDuplicateHost(req)) {
      this.#local(res, rec, 400, ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR, 'duplicate Host header\n');
      return;
    }
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      const why = 'an HTTP/1.1 request must carry a Host header (RFC 9112 §3.2)\n';
      this.#local(res, rec, Errors.MISSING_HOST.status, ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR, why);
      return;
    }
    if (this.#ctx.draining) res.shouldKeepAlive = false;
    const limiter = this.config.limiter;
    if (limiter && !limiter.tryTake()) {
      this.#ctx.telemetry.rateLimited(this.config.listener.name, '-');
      this.#local(res, rec, Errors.RATE_LIMITED.status, ResponseFlags.RATE_LIMITED, 'local_rate_limited\n');
      return;
    }
    const target = this.#target(req);
    if ('denied' in target) {
      this.#deny(res, rec, target.denied);
      return;
    }
    if ('status' in target) {
      this.#local(res, rec, target.status, target.flag, target.body, target.headers);
      return;
    }
    rec.authority = target.authority;
    rec.path = target.path;
    const resolved = this.#resolve(req, target);
    if (!(resolved instanceof Promise)) {
      this.#routeResolved(req, res, rec, resolved);
      return;
    }
    resolved.then(
      (r) => this.#routeResolved(req, res, rec, r),
      (err: Error) => {
        this.#ctx.logger.error({ err }, 'request failed before routing');
        this.#local(res, rec, 500, '-', 'internal error\n');
      },
    );
  };

  /**
   * Where the request is going, by listener kind, with its path normalized. Gateway and inbound listeners
   * take origin-form, absolute-form (whose authority overrides Host, RFC 9112 §3.2.2) and `OPTIONS *`;
   * outbound and egress listeners are forward proxies.
   */
  #target(req: IncomingMessage): Target | Refusal {
    const url = req.url ?? '/';
    const mode = this.config.listener.pathNormalization;
    if (this.kind === 'outbound' || this.kind === 'egress') {
      const t = parseForwardTarget({ method: req.method ?? 'GET', url, headers: req.headers });
      if (!t.ok) return { denied: denyTarget(t) };
      const path = normalizeTarget(t.path, mode);
      if (path === undefined) return invalidPath(t.path);
      const authority = t.port === 80 ? t.host : `${t.host}:${t.port}`;
      return { authority, path, host: t.host, port: t.port };
    }
    let authority = req.headers.host ?? '';
    let raw = url;
    let defaultPort = 80;
    if (url.charCodeAt(0) !== 0x2f /* / */) {
      if (url === '*')
        return req.method === 'OPTIONS' ? OPTIONS_ASTERISK : badTarget('* is only for OPTIONS');
      const absolute = parseAbsoluteForm(url);
      if (!absolute) return badTarget('expected a path or an absolute http URL');
      ({ authority, path: raw, defaultPort } = absolute);
    }
    const path = normalizeTarget(raw, mode);
    if (path === undefined) return invalidPath(raw);
    return { authority, path, host: stripPort(authority), port: portOf(authority, defaultPort) };
  }

  /**
   * Finds the route. Synchronous on the common path; asynchronous only where egress policy must be
   * checked first (every request at the egress gateway, unknown hosts at a sidecar's outbound).
   */
  #resolve(req: IncomingMessage, t: Target): Resolved | Promise<Resolved | EgressDecision> {
    if (this.kind === 'egress') return this.#resolveChecked(req, t, true);
    const match = this.config.routes.match({
      authority: t.authority,
      path: t.path,
      method: req.method ?? 'GET',
      headers: headerValuesOf(req.headers),
    });
    if (match) return { ...t, route: match.route, clusterName: '', originalDestination: undefined };
    // Not a mesh service nor a registered external host: only ALLOW_ANY lets it out, directly.
    if (this.kind === 'outbound') return this.#resolveChecked(req, t, false);
    return { ...t, route: undefined, clusterName: '', originalDestination: undefined };
  }

  async #resolveChecked(
    req: IncomingMessage,
    t: Target,
    routeAfter: boolean,
  ): Promise<Resolved | EgressDecision> {
    const decision = await this.#ctx.egress.check({ host: t.host, port: t.port });
    if (!decision.allowed) return decision;
    this.#ctx.telemetry.egressAllowed(decision.host);
    const match = routeAfter
      ? this.config.routes.match({
          authority: t.authority,
          path: t.path,
          method: req.method ?? 'GET',
          headers: headerValuesOf(req.headers),
        })
      : undefined;
    return {
      ...t,
      route: match?.route,
      clusterName: match ? '' : PASSTHROUGH_CLUSTER,
      originalDestination: { address: decision.address, port: decision.connectPort },
    };
  }

  #routeResolved(
    req: IncomingMessage,
    res: ServerResponse,
    rec: RequestRecord,
    resolved: Resolved | EgressDecision,
  ): void {
    if ('allowed' in resolved) {
      if (!resolved.allowed) this.#deny(res, rec, resolved);
      return;
    }
    const route = resolved.route;
    if (!route) {
      if (resolved.clusterName === '') {
        this.#local(res, rec, Errors.NO_ROUTE.status, ResponseFlags.NO_ROUTE, 'no route\n');
        return;
      }
      this.#forward(req, res, rec, resolved, undefined);
      return;
    }
    rec.routeName = route.name;
    if (route.directResponse) {
      const d = route.directResponse;
      this.#local(res, rec, d.status, ResponseFlags.NONE, d.body ?? '');
      return;
    }
    if (route.rateLimiter && !route.rateLimiter.tryTake()) {
      this.#ctx.telemetry.rateLimited(this.config.listener.name, route.name);
      this.#local(res, rec, Errors.RATE_LIMITED.status, ResponseFlags.RATE_LIMITED, 'local_rate_limited\n');
      return;
    }
    if (route.fault) {
      // Envoy's order: the delay first, then the abort, so one request may get both.
      const fault = decideFault(route.fault);
      if (fault.delayMs > 0) {
        rec.faultDelayed = true;
        setTimeout(() => this.#afterFault(req, res, rec, resolved, route, fault.abortStatus), fault.delayMs);
        return;
      }
      if (fault.abortStatus !== undefined) {
        this.#local(res, rec, fault.abortStatus, ResponseFlags.FAULT_ABORT, 'fault filter abort\n');
        return;
      }
    }
    this.#forward(req, res, rec, resolved, route);
  }

  #afterFault(
    req: IncomingMessage,
    res: ServerResponse,
    rec: RequestRecord,
    resolved: Resolved,
    route: CompiledRoute,
    abortStatus: number | undefined,
  ): void {
    if (abortStatus === undefined) this.#forward(req, res, rec, resolved, route);
    else this.#local(res, rec, abortStatus, ResponseFlags.FAULT_ABORT, 'fault filter abort\n');
  }

  #forward(
    req: IncomingMessage,
    res: ServerResponse,
    rec: RequestRecord,
    resolved: Resolved,
    route: CompiledRoute | undefined,
  ): void {
    if (res.destroyed) return;
    const clusterName = route ? route.pickCluster() : resolved.clusterName;
    rec.clusterName = clusterName;
    const cluster = this.#ctx.clusters.get(clusterName);
    if (!cluster) {
      this.#local(res, rec, 503, ResponseFlags.NO_CLUSTER, `no cluster ${clusterName}\n`);
      return;
    }
    const { headers, path } = this.#upstreamRequest(req, rec, resolved, route, cluster, false);
    const socket = req.socket;
    let exchange: Exchange | undefined;
    const body = hasBody(req.headers)
      ? countBody(req, rec, () => exchange?.downstreamFailed(499, ResponseFlags.DOWNSTREAM_DISCONNECT))
      : null;
    if (body === null) req.resume();

    exchange = new Exchange(
      res,
      {
        method: req.method ?? 'GET',
        path,
        headers,
        body,
        sourceIp: req.socket.remoteAddress ?? '',
        originalDestination: resolved.originalDestination,
        requestHeaders: req.headers,
      },
      {
        cluster,
        retry: route?.retry,
        timeoutMs: route?.timeoutMs,
        onResponseHead: (_status, h) => this.#responseHeaders(h, route),
        onDone: (outcome) => {
          if (this.#inFlight.get(socket) === exchange) this.#inFlight.delete(socket);
          this.#done(rec, cluster, outcome);
        },
      },
    );
    if (body !== null) this.#inFlight.set(socket, exchange);
    exchange.start();

    if (route?.mirror && body === null && decideMirror(route.mirror))
      this.#mirror(route.mirror.cluster, req, headers, path);
  }

  /** Headers and request target for the upstream: rewrites, header ops, absolute form for forward proxies. */
  #upstreamRequest(
    req: IncomingMessage,
    rec: RequestRecord,
    resolved: Resolved,
    route: CompiledRoute | undefined,
    cluster: UpstreamCluster,
    upgrade: boolean,
  ): { headers: HeaderMap; path: string } {
    const headers = this.#upstreamHeaders(req, rec, upgrade);
    const authority = route?.rewriteAuthority ?? resolved.authority;
    headers.host = authority;
    if (route?.requestHeaderOps) applyHeaderOps(headers, route.requestHeaderOps);
    const path = route ? route.rewritePath(resolved.path) : resolved.path;
    return { headers, path: cluster.config.forwardProxy ? `http://${authority}${path}` : path };
  }

  /** The headers sent upstream: end-to-end ones plus the proxy's own. */
  #upstreamHeaders(req: IncomingMessage, rec: RequestRecord, upgrade: boolean): HeaderMap {
    const headers = copyEndToEnd(req.headers, upgrade);
    headers['x-request-id'] = rec.requestId;
    const remote = req.socket.remoteAddress;
    if (remote) appendHeader(headers, 'x-forwarded-for', remote);
    if (headers['x-forwarded-proto'] === undefined || this.kind === 'gateway')
      headers['x-forwarded-proto'] = 'http';
    appendHeader(headers, 'via', this.#ctx.node.via);
    if (this.kind === 'inbound') delete headers[PEER_METADATA_HEADER];
    else headers[PEER_METADATA_HEADER] = this.#ctx.node.peerHeader;
    if (this.#ctx.draining) headers.connection = 'close';
    return headers;
  }

  #responseHeaders(
    headers: Record<string, string | string[] | undefined>,
    route: CompiledRoute | undefined,
  ): void {
    for (const name of RESPONSE_HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
    if (route?.responseHeaderOps) applyHeaderOps(headers, route.responseHeaderOps);
  }

  /** Fire and forget: a copy of a body-less request to the mirror cluster; its answer is dropped. */
  #mirror(clusterName: string, req: IncomingMessage, headers: HeaderMap, path: string): void {
    const cluster = this.#ctx.clusters.get(clusterName);
    const host = cluster?.choose({
      headers: req.headers,
      sourceIp: req.socket.remoteAddress ?? '',
      originalDestination: undefined,
    });
    if (!host) return;
    const shadow = { ...headers, host: `${String(headers.host)}-shadow` } as Record<string, string>;
    host.pool
      .request({
        method: req.method ?? 'GET',
        path,
        headers: shadow,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      })
      .then((r) => r.body.dump())
      .catch(() => {});
  }

  /**
   * A parse error, timeout or disconnect on a connection (node:http's clientError): the request whose body
   * was streaming there ends as the client's fault (DPE, or DC), never the upstream's. Returns whether that
   * request's response head had already gone out (then the connection can only be cut).
   */
  clientError(socket: Socket, status: number, fault: DownstreamFault): { headSent: boolean } {
    const exchange = this.#inFlight.get(socket);
    if (!exchange) return { headSent: false };
    this.#inFlight.delete(socket);
    const flag =
      fault === 'protocol' ? ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR : ResponseFlags.DOWNSTREAM_DISCONNECT;
    return { headSent: exchange.downstreamFailed(fault === 'protocol' ? status : 499, flag) };
  }

  // --- CONNECT -------------------------------------------------------------------------------

  handleConnect = (req: IncomingMessage, duplex: Duplex, head: Buffer): void => {
    const socket = duplex as Socket; // node:http hands over the raw net.Socket
    if (this.#refused.has(socket)) return;
    const rec = this.#record(req);
    socket.on('error', () => {});
    if (this.kind !== 'outbound' && this.kind !== 'egress') {
      answerAndClose(socket, 405, 'CONNECT is not served here\n');
      this.#log(rec, 405, ResponseFlags.NONE, 0, undefined);
      return;
    }
    const t = parseForwardTarget({ method: 'CONNECT', url: req.url ?? '', headers: req.headers });
    if (!t.ok) {
      this.#denyConnect(socket, rec, denyTarget(t));
      return;
    }
    rec.authority = `${t.host}:${t.port}`;
    void this.#connectTarget(t.host, t.port, req).then(
      (result) => {
        if ('allowed' in result) {
          if (!result.allowed) this.#denyConnect(socket, rec, result);
          return;
        }
        const hooks = this.#tunnelHooks(rec, result.clusterName, 'source');
        const through = result.via ? { connectThrough: `${t.host}:${t.port}` } : {};
        openTunnel(socket, head, { address: result.address, port: result.port, ...through }, hooks);
      },
      () => answerAndClose(socket, 500, 'internal error\n'),
    );
  };

  /** Where a CONNECT goes: through the egress gateway for registered external hosts, else by policy. */
  async #connectTarget(
    host: string,
    port: number,
    req: IncomingMessage,
  ): Promise<
    | EgressDecision
    | { clusterName: string; address: string; port: number; via?: { address: string; port: number } }
  > {
    if (this.kind === 'outbound') {
      const match = this.config.routes.match({
        authority: `${host}:${port}`,
        path: '/',
        method: 'CONNECT',
        headers: headerValuesOf(req.headers),
      });
      const cluster = match?.route.action ? this.#ctx.clusters.get(match.route.pickCluster()) : undefined;
      if (cluster?.config.forwardProxy) {
        const egressHost = cluster.choose({
          headers: req.headers,
          sourceIp: '',
          originalDestination: undefined,
        });
        if (!egressHost)
          return {
            allowed: false,
            host,
            port,
            reason: 'no healthy egress gateway',
            code: 'host-not-allowed',
          };
        const via = { address: egressHost.endpoint.address, port: egressHost.endpoint.port };
        return { clusterName: cluster.name, address: via.address, port: via.port, via };
      }
    }
    const decision = await this.#ctx.egress.check({ host, port });
    if (!decision.allowed) return decision;
    this.#ctx.telemetry.egressAllowed(decision.host);
    return { clusterName: PASSTHROUGH_CLUSTER, address: decision.address, port: decision.connectPort };
  }

  // --- Upgrades (WebSocket) ---------------------------------------------------------------------

  handleUpgrade = (req: IncomingMessage, duplex: Duplex, head: Buffer): void => {
    const socket = duplex as Socket; // node:http hands over the raw net.Socket
    if (this.#refused.has(socket)) return;
    const rec = this.#record(req);
    socket.on('error', () => {});
    const target = this.#target(req);
    if ('denied' in target) {
      this.#denyConnect(socket, rec, target.denied);
      return;
    }
    if ('status' in target) {
      answerAndClose(socket, target.status, target.body);
      this.#log(rec, target.status, target.flag, Buffer.byteLength(target.body), undefined);
      return;
    }
    rec.authority = target.authority;
    rec.path = target.path;
    void Promise.resolve(this.#resolve(req, target)).then((resolved) => {
      if ('allowed' in resolved) {
        if (!resolved.allowed) this.#denyConnect(socket, rec, resolved);
        return;
      }
      const route = resolved.route;
      if (!route && resolved.clusterName === '') {
        answerAndClose(socket, 404, 'no route\n');
        this.#log(rec, 404, ResponseFlags.NO_ROUTE, 0, undefined);
        return;
      }
      const clusterName = route ? route.pickCluster() : resolved.clusterName;
      rec.routeName = route?.name ?? '-';
      rec.clusterName = clusterName;
      const cluster = this.#ctx.clusters.get(clusterName);
      const host = cluster?.choose({
        headers: req.headers,
        sourceIp: req.socket.remoteAddress ?? '',
        originalDestination: resolved.originalDestination,
      });
      if (!cluster || !host) {
        answerAndClose(socket, 503, 'no healthy upstream\n');
        this.#log(rec, 503, ResponseFlags.NO_HEALTHY_UPSTREAM, 0, undefined);
        return;
      }
      const { headers, path } = this.#upstreamRequest(req, rec, resolved, route, cluster, true);
      const hooks = this.#tunnelHooks(
        rec,
        clusterName,
        this.kind === 'inbound' ? 'destination' : 'source',
        host,
      );
      relayUpgrade(
        req,
        socket,
        head,
        {
          address: host.endpoint.address,
          port: host.endpoint.port,
          headers: headers as Record<string, string | string[]>,
          path,
        },
        hooks,
      );
    });
  };

  /** TCP accounting for tunnels and upgraded connections. */
  #tunnelHooks(rec: RequestRecord, clusterName: string, reporter: 'source' | 'destination', host?: Host) {
    const cluster = this.#ctx.clusters.get(clusterName);
    const series: TcpSeries = this.#ctx.telemetry.tcpSeries(
      labelsFor({
        reporter,
        source: reporter === 'destination' ? this.#peerOf(rec) : this.#selfPeer(),
        destination: this.#destination(cluster, host),
        protocol: 'tcp',
      }),
    );
    return {
      onOpen: () => series.opened(),
      onClose: (stats: TunnelStats) => {
        if (stats.opened) {
          series.sent(stats.sentBytes);
          series.received(stats.receivedBytes);
          series.closed();
        }
        const flag = stats.opened ? ResponseFlags.NONE : ResponseFlags.UPSTREAM_CONNECT_FAILURE;
        this.#log(rec, stats.status ?? (stats.opened ? 200 : 503), flag, stats.sentBytes, host);
      },
    };
  }

  // --- endings -------------------------------------------------------------------------------

  #record(req: IncomingMessage): RequestRecord {
    const peerRaw = this.kind === 'inbound' ? req.headers[PEER_METADATA_HEADER] : undefined;
    const rid = req.headers['x-request-id'];
    return {
      start: performance.now(),
      startTime: Date.now(),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authority: req.headers.host ?? '',
      requestId: typeof rid === 'string' && rid.length > 0 && rid.length <= 200 ? rid : randomUUID(),
      requestBytes: 0,
      routeName: '-',
      clusterName: '-',
      peerKey: typeof peerRaw === 'string' ? this.#peers.resolve(peerRaw, this.#ctx.peers) : '',
      remote: req.socket.remoteAddress ?? '',
      userAgent: req.headers['user-agent'],
      faultDelayed: false,
    };
  }

  /** Answers locally (no upstream) and records it. */
  #local(
    res: ServerResponse,
    rec: RequestRecord,
    status: number,
    flag: string,
    body: string,
    headers?: Record<string, string>,
  ): void {
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(status, {
        'content-type': 'text/plain',
        'content-length': Buffer.byteLength(body),
        ...headers,
      });
      res.end(body);
    }
    this.#finishRequest(rec, undefined, status, flag, Buffer.byteLength(body), undefined);
  }

  #deny(res: ServerResponse, rec: RequestRecord, denied: EgressDenied): void {
    const body = this.#denied(denied);
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(Errors.EGRESS_DENIED.status, {
        'content-type': DENY_CONTENT_TYPE,
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    }
    this.#finishRequest(
      rec,
      undefined,
      Errors.EGRESS_DENIED.status,
      ResponseFlags.UNAUTHORIZED_EXTERNAL,
      Buffer.byteLength(body),
      undefined,
    );
  }

  #denyConnect(socket: Socket, rec: RequestRecord, denied: EgressDenied): void {
    const body = this.#denied(denied);
    answerAndClose(socket, Errors.EGRESS_DENIED.status, body);
    this.#log(
      rec,
      Errors.EGRESS_DENIED.status,
      ResponseFlags.UNAUTHORIZED_EXTERNAL,
      Buffer.byteLength(body),
      undefined,
    );
  }

  /** Counts and logs a denial; returns the 403 body that names the host and the reason. */
  #denied(denied: EgressDenied): string {
    this.#ctx.telemetry.egressDenied(denyReasonLabel(denied.code), denied.host);
    this.#ctx.logger.info(
      { host: denied.host, port: denied.port, reason: denied.reason, code: denied.code },
      'egress denied',
    );
    return denyBody(denied);
  }

  #done(rec: RequestRecord, cluster: UpstreamCluster, outcome: ExchangeOutcome): void {
    // A request that was only delayed by fault injection is flagged DI, as Envoy does.
    const flag =
      rec.faultDelayed && outcome.flag === ResponseFlags.NONE ? ResponseFlags.FAULT_DELAY : outcome.flag;
    this.#finishRequest(rec, cluster, outcome.status, flag, outcome.responseBytes, outcome.host);
  }

  /** Metrics and access log for one finished request. */
  #finishRequest(
    rec: RequestRecord,
    cluster: UpstreamCluster | undefined,
    status: number,
    flag: string,
    responseBytes: number,
    host: Host | undefined,
  ): void {
    const durationMs = performance.now() - rec.start;
    this.#seriesFor(rec, cluster, host).record(status, flag, durationMs, rec.requestBytes, responseBytes);
    this.#log(rec, status, flag, responseBytes, host, durationMs);
  }

  /**
   * The request series for a finished request. Consecutive requests usually share route, cluster, host and
   * peer, so the last lookup is kept and reused without building a key.
   */
  #seriesFor(
    rec: RequestRecord,
    cluster: UpstreamCluster | undefined,
    host: Host | undefined,
  ): RequestSeries {
    const hostKey = host?.key ?? '';
    const last = this.#lastSeries;
    if (
      last !== undefined &&
      last.routeName === rec.routeName &&
      last.clusterName === rec.clusterName &&
      last.hostKey === hostKey &&
      last.peerKey === rec.peerKey &&
      last.cluster === cluster &&
      last.config === this.config
    )
      return last.series;
    const key = `${this.config.listener.name}\u0000${rec.routeName}\u0000${rec.clusterName}\u0000${hostKey}\u0000${rec.peerKey}`;
    const series = this.#ctx.telemetry.requestSeriesByKey(key, () => {
      const reporter = this.kind === 'inbound' ? 'destination' : 'source';
      return labelsFor({
        reporter,
        source: reporter === 'destination' ? this.#peerOf(rec) : this.#selfPeer(),
        destination: this.#destination(cluster, host),
        protocol: 'http',
      });
    });
    this.#lastSeries = {
      routeName: rec.routeName,
      clusterName: rec.clusterName,
      hostKey,
      peerKey: rec.peerKey,
      cluster,
      config: this.config,
      series,
    };
    return series;
  }

  #log(
    rec: RequestRecord,
    status: number,
    flag: string,
    bytesSent: number,
    host: Host | undefined,
    durationMs?: number,
  ): void {
    this.#ctx.accessLog.log({
      start_time: rec.startTime,
      method: rec.method,
      path: rec.path,
      protocol: 'HTTP/1.1',
      response_code: status,
      response_flags: flag,
      bytes_received: rec.requestBytes,
      bytes_sent: bytesSent,
      duration: Math.round(durationMs ?? performance.now() - rec.start),
      upstream_host: host?.key ?? '-',
      upstream_cluster: rec.clusterName,
      x_request_id: rec.requestId,
      authority: rec.authority,
      user_agent: rec.userAgent ?? '-',
      downstream_remote_address: rec.remote,
      route_name: rec.routeName,
    });
  }

  /** The calling workload, as the control plane knows it (inbound listeners), or undefined. */
  #peerOf(rec: RequestRecord): PeerInfo | undefined {
    return rec.peerKey === '' ? undefined : this.#ctx.peers.get(rec.peerKey);
  }

  #selfPeer(): PeerInfo {
    const n = this.#ctx.node;
    return { workload: n.workload, namespace: n.namespace, app: n.app, version: n.version };
  }

  /** Destination labels: this proxy's own workload at an inbound listener, else the chosen endpoint's. */
  #destination(cluster: UpstreamCluster | undefined, host: Host | undefined) {
    const n = this.#ctx.node;
    if (this.kind === 'inbound') {
      return {
        workload: n.workload,
        namespace: n.namespace,
        app: n.app,
        version: n.version,
        service: n.app,
        serviceName: n.app,
      };
    }
    const service =
      cluster?.config.service ?? (cluster?.name === PASSTHROUGH_CLUSTER ? PASSTHROUGH_CLUSTER : undefined);
    const labels = host?.endpoint.labels;
    return {
      workload: host?.endpoint.workload,
      namespace: host?.endpoint.namespace,
      app: labels?.app ?? service,
      version: labels?.version,
      service,
      serviceName: service,
    };
  }
}

/**
 * Streams the request body to undici while counting its bytes. If the client breaks it off, `onFault`
 * ends the exchange as the client's fault before undici sees the error.
 */
async function* countBody(
  req: IncomingMessage,
  rec: RequestRecord,
  onFault: () => void,
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of req) {
      rec.requestBytes += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  } catch (err) {
    onFault();
    throw err;
  }
}

function badTarget(why: string): Refusal {
  return { status: 400, flag: ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR, body: `bad request target: ${why}\n` };
}

function invalidPath(path: string): Refusal {
  const shown = path.length > 64 ? `${path.slice(0, 64)}…` : path;
  return {
    status: Errors.INVALID_PATH.status,
    flag: ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR,
    body: `${Errors.INVALID_PATH.message}: ${shown}\n`,
  };
}

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

function stripPort(authority: string): string {
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
