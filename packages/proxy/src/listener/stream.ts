// One request's way through a listener (Envoy's stream and its stream info): the downstream exchange, what
// routing decided, and the facts the access log and metrics read once it finishes, reported exactly once.
import { randomUUID } from 'node:crypto';
import { HEALTH_CHECK_USER_AGENT } from '@strait/api';
import type { DownstreamExchange } from '../codec/types.ts';
import type { CompiledRoute } from '../router/compiled-route.ts';
import { type RequestTrace, traceRequest } from '../tracing/request-trace.ts';
import type { Host, UpstreamCluster } from '../upstream/index.ts';
import type { ListenerConfig, ProxyContext, StreamRecord } from './context.ts';

/** Where a request is going, as read from its target and Host. */
export interface Target {
  authority: string;
  /** Origin-form path and query, normalized. */
  path: string;
  host: string;
  port: number;
}

export class Stream implements StreamRecord {
  readonly exchange: DownstreamExchange;
  readonly config: ListenerConfig;
  readonly ctx: ProxyContext;
  readonly startTime = Date.now();
  readonly #start = performance.now();
  readonly method: string;
  path: string;
  authority: string;
  readonly requestId: string;
  peerKey = '';
  target: Target | undefined;
  route: CompiledRoute | undefined;
  /** ORIGINAL_DST (passthrough, egress): where the request really goes. */
  originalDestination: { address: string; port: number } | undefined;
  /** The fields going upstream ([name, value, ...]): end-to-end ones plus the proxy's, then the filters'. */
  upstreamRaw: string[] = [];
  routeName = '-';
  clusterName = '-';
  cluster: UpstreamCluster | undefined;
  host: Host | undefined;
  status = 0;
  flag = '-';
  /** A fault delay was applied (logged as DI when nothing else went wrong). */
  faultDelayed = false;
  tunnel = false;
  durationMs = 0;
  readonly trace: RequestTrace | undefined;
  #done = false;

  constructor(exchange: DownstreamExchange, config: ListenerConfig, ctx: ProxyContext) {
    this.exchange = exchange;
    this.config = config;
    this.ctx = ctx;
    this.method = exchange.method;
    this.path = exchange.target;
    this.authority = exchange.headers.get('host') ?? '';
    const rid = exchange.headers.get('x-request-id');
    this.requestId = rid !== undefined && rid.length > 0 && rid.length <= 200 ? rid : randomUUID();
    const tracing = ctx.tracing;
    this.trace =
      tracing === undefined || exchange.headers.get('user-agent') === HEALTH_CHECK_USER_AGENT
        ? undefined
        : traceRequest(exchange.headers, this.requestId, tracing, this.#start);
  }

  get userAgent(): string | undefined {
    return this.exchange.headers.get('user-agent');
  }

  get peerPrincipal(): string {
    return this.exchange.peerPrincipal;
  }

  get remoteAddress(): string {
    return this.exchange.remoteAddress;
  }

  get requestBytes(): number {
    return this.exchange.bodyBytes;
  }

  get responseBytes(): number {
    return this.exchange.bytesSent;
  }

  get finished(): boolean {
    return this.#done;
  }

  /** Records the outcome and tells the observer; later calls are ignored. */
  finish(status: number, flag: string): void {
    if (this.#done) return;
    this.#done = true;
    this.status = status;
    // A request only delayed by fault injection is flagged DI, as Envoy does.
    this.flag = this.faultDelayed && flag === '-' ? 'DI' : flag;
    this.durationMs = performance.now() - this.#start;
    if (this.tunnel) return;
    this.ctx.observer.requestDone(this);
  }
}
