// A listener's HTTP connection manager (Envoy's HCM): for each exchange the codec hands over, the request
// hygiene checks, the target by listener kind, the route, the upstream fields, then the filter chain with
// the router at its end. CONNECT and Upgrade go to tunnels.ts.
import type { Socket } from 'node:net';
import { Errors, PEER_METADATA_HEADER, ResponseFlags } from '@strait/api';
import type { DownstreamExchange, ExchangeHandler } from '../codec/types.ts';
import {
  authorizationFilter,
  directResponseFilter,
  FilterChain,
  faultFilter,
  type HttpFilter,
  headerOpsFilter,
  rateLimitFilter,
} from '../filters/index.ts';
import { type LocalReply, replyFor, sendLocalReply } from '../router/local-reply.ts';
import { Router } from '../router/router.ts';
import type { ListenerConfig, ProxyContext } from './context.ts';
import { PeerResolver } from './peers.ts';
import { type ListenerProfile, PROFILES } from './profiles.ts';
import { Stream } from './stream.ts';
import { openTunnelFor } from './tunnels.ts';
import { upstreamFields } from './upstream-fields.ts';

/**
 * The HTTP filters every listener runs, in Envoy's usual order (authorization first, as Istio puts RBAC ahead
 * of the rest); the router is the terminal one.
 */
const FILTERS: readonly HttpFilter[] = [
  authorizationFilter,
  rateLimitFilter,
  directResponseFilter,
  faultFilter,
  headerOpsFilter,
];

/** Response fields not copied downstream: the next hop's peer metadata; Content-Length, which the codec writes. */
const DROP_RESPONSE_FIELDS = new Set([PEER_METADATA_HEADER, 'content-length']);

const DUPLICATE_HOST = replyFor(
  Errors.BAD_HTTP_REQUEST,
  ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR,
  'duplicate Host header\n',
);
const MISSING_HOST = replyFor(
  Errors.MISSING_HOST,
  ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR,
  'an HTTP/1.1 request must carry a Host header (RFC 9112 §3.2)\n',
);

export class ConnectionManager implements ExchangeHandler {
  config: ListenerConfig;
  readonly #ctx: ProxyContext;
  readonly #chain: FilterChain;
  readonly #peers = new PeerResolver();

  constructor(ctx: ProxyContext, config: ListenerConfig) {
    this.#ctx = ctx;
    this.config = config;
    const router = new Router({
      onResponseHead: (stream, raw) => this.#chain.onResponseHead(stream, raw),
      dropResponseFields: DROP_RESPONSE_FIELDS,
    });
    this.#chain = new FilterChain(FILTERS, router.route);
  }

  get profile(): ListenerProfile {
    return PROFILES[this.config.listener.kind];
  }

  onRequest(exchange: DownstreamExchange): void {
    const stream = new Stream(exchange, this.config, this.#ctx);
    if (this.#ctx.draining) exchange.closeAfter();
    // Until the router takes over, a client that breaks off just ends its stream (a delay, a policy check).
    exchange.onFault = (fault, status) =>
      stream.finish(
        status,
        fault === 'protocol' ? ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR : ResponseFlags.DOWNSTREAM_DISCONNECT,
      );
    const refusal = this.#admit(stream);
    if (refusal) {
      sendLocalReply(stream, refusal);
      return;
    }
    const profile = this.profile;
    const target = profile.target(stream);
    if ('status' in target) {
      sendLocalReply(stream, target);
      return;
    }
    stream.target = target;
    stream.authority = target.authority;
    stream.path = target.path;
    const resolved = profile.resolve(stream);
    if (resolved instanceof Promise) {
      resolved.then(
        (reply) => this.#routed(stream, reply),
        (err: unknown) => {
          this.#ctx.logger.error({ err }, 'request failed before routing');
          if (!stream.finished) sendLocalReply(stream, replyFor(Errors.INTERNAL, '-'));
        },
      );
      return;
    }
    this.#routed(stream, resolved);
  }

  onTunnel(exchange: DownstreamExchange, socket: Socket, head: Buffer): void {
    const stream = new Stream(exchange, this.config, this.#ctx);
    stream.peerKey = this.#peerKey(exchange);
    openTunnelFor(stream, this.profile, socket, head);
  }

  onRefused(remoteAddress: string, status: number, code: string): void {
    this.#ctx.observer.refused(this.config, remoteAddress, status, code);
  }

  /** Request hygiene before anything else: one Host, and a Host on HTTP/1.1. */
  #admit(stream: Stream): LocalReply | undefined {
    const headers = stream.exchange.headers;
    const hosts = headers.count('host');
    if (hosts > 1) return DUPLICATE_HOST;
    if (hosts === 0 && stream.exchange.versionMinor === 1) return MISSING_HOST;
    stream.peerKey = this.#peerKey(stream.exchange);
    return undefined;
  }

  /**
   * The caller as its peer header names it, among the workloads the control plane lists. Over mutual TLS
   * the claim must also agree with the certificate (its namespace and service account), else the caller
   * is unknown: the header alone is never trusted.
   */
  #peerKey(exchange: DownstreamExchange): string {
    if (this.config.listener.kind !== 'inbound') return '';
    const raw = exchange.headers.get(PEER_METADATA_HEADER);
    if (raw === undefined) return '';
    const key = this.#peers.resolve(raw, this.#ctx.peers);
    const principal = exchange.peerPrincipal;
    if (key === '' || principal === '') return key;
    const peer = this.#ctx.peers.get(key);
    return peer && principal.endsWith(`/ns/${peer.namespace}/sa/${peer.app}`) ? key : '';
  }

  #routed(stream: Stream, reply: LocalReply | undefined): void {
    if (stream.finished) return; // the client went away while the policy was checked
    if (reply) {
      sendLocalReply(stream, reply);
      return;
    }
    stream.routeName = stream.route?.name ?? '-';
    stream.upstreamRaw = upstreamFields(stream, false);
    this.#chain.run(stream);
  }
}
