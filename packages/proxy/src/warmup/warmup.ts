// Warm-up before readiness: a starting proxy sends a burst of requests through its own request path (codec,
// filters, router, upstream pool, telemetry) against a stub upstream on loopback, so V8 has compiled the hot
// code before the first real request and "ready" means ready at speed. Everything it touches is its own:
// listeners on 127.0.0.1 port 0, a cluster manager, a metrics registry and an access log that writes nowhere.
import { connect, createServer, type Server } from 'node:net';
import { type ListenerKind, type NodeRole, parseSnapshot, type SnapshotInput } from '@strait/api';
import type { Logger } from 'pino';
import { HeadVerdict, isParseError, Llhttp } from '../codec/llhttp.ts';
import { codecLimits } from '../config/limits.ts';
import { EgressPolicyChecker } from '../egress/index.ts';
import type { NodeIdentity, ProxyContext } from '../listener/context.ts';
import { ProxyListener } from '../listener/listener.ts';
import { RouteTable } from '../router/index.ts';
import { AccessLog, ProxyTelemetry, TelemetryObserver } from '../telemetry/index.ts';
import { ClusterManager } from '../upstream/index.ts';

export interface WarmupOptions {
  node: NodeIdentity;
  logger: Logger;
  version: string;
  /** Requests in all, spread over the role's listener kinds. */
  requests: number;
  /** Client connections per listener kind. */
  connections?: number;
  /** The warm-up ends by then even if requests are left (a starved machine must not hold readiness). */
  deadlineMs?: number;
}

export interface WarmupResult {
  /** Requests answered 200 through the whole path. */
  requests: number;
  ms: number;
}

const LOOPBACK = '127.0.0.1';
const HOST = 'warmup.strait.local';
const BODY = Buffer.alloc(1024, 'w');
const ANSWER = Buffer.concat([
  Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BODY.length}\r\n\r\n`),
  BODY,
]);

/** The listener kinds a role serves its traffic on (egress shares the gateway's path but its DNS checks). */
export function warmupKinds(role: NodeRole): ListenerKind[] {
  return role === 'sidecar' ? ['inbound', 'outbound'] : ['gateway'];
}

/** A request as that kind of listener receives it: origin-form, or absolute-form from an app's HTTP_PROXY. */
function requestFor(kind: ListenerKind): Buffer {
  const target = kind === 'outbound' || kind === 'egress' ? `http://${HOST}/warmup` : '/warmup';
  return Buffer.from(
    `GET ${target} HTTP/1.1\r\nhost: ${HOST}\r\nuser-agent: strait-warmup\r\naccept: */*\r\n` +
      'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n',
  );
}

/** Every listener kind routes everything to one cluster whose only endpoint is the stub upstream. */
function warmupSnapshot(kinds: ListenerKind[], upstreamPort: number): SnapshotInput {
  return {
    version: 'warmup',
    listeners: kinds.map((kind, i) => ({
      name: `warmup_${kind}`,
      kind,
      // Only a label here: warm-up listeners bind port 0.
      port: 15100 + i,
      virtualHosts: [
        {
          name: 'warmup',
          domains: ['*'],
          routes: [
            {
              name: 'warmup',
              match: { path: { prefix: '/' } },
              route: { clusters: [{ cluster: 'warmup', weight: 100 }] },
            },
          ],
        },
      ],
    })),
    clusters: [{ name: 'warmup', endpoints: [{ address: LOOPBACK, port: upstreamPort }] }],
    telemetry: { accessLog: true },
  };
}

/** A loopback upstream answering each request head with the same 1 KB response (warm-up requests have no body). */
async function stubUpstream(): Promise<Server> {
  const server = createServer((socket) => {
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let end = pending.indexOf('\r\n\r\n');
      while (end >= 0) {
        socket.write(ANSWER);
        pending = pending.slice(end + 4);
        end = pending.indexOf('\r\n\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, resolve);
  });
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/**
 * One keep-alive client connection sending `request` each time the last answer completed, while `more()`.
 * Counts the 200s: anything else means the warm-up did not go through the whole path.
 */
function client(port: number, request: Buffer, more: () => boolean): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK, port });
    let answered = 0;
    let ok = false;
    const parser = new Llhttp('response', 64 * 1024, {
      onHead: (head) => {
        ok = head.status === 200;
        return HeadVerdict.BODY;
      },
      onBody: () => {},
      onComplete: () => {
        if (ok) answered += 1;
        if (more()) socket.write(request);
        else socket.end();
      },
    });
    socket.setNoDelay(true);
    socket.on('connect', () => (more() ? socket.write(request) : socket.end()));
    socket.on('data', (data: Buffer) => {
      if (isParseError(parser.execute(data))) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      parser.free();
      resolve(answered);
    });
  });
}

/** Runs the warm-up for a role; never throws for the request path's sake (the caller logs what it says). */
export async function warmUp(role: NodeRole, opts: WarmupOptions): Promise<WarmupResult> {
  const began = performance.now();
  const deadline = began + (opts.deadlineMs ?? 3000);
  const kinds = warmupKinds(role);
  const upstream = await stubUpstream();
  const accessLog = new AccessLog({ enabled: true, destination: { write: () => true } });
  const telemetry = new ProxyTelemetry({ version: opts.version, defaultMetrics: false });
  const ctx: ProxyContext = {
    node: opts.node,
    logger: opts.logger,
    observer: new TelemetryObserver(telemetry, accessLog, { node: opts.node, peers: () => new Map() }),
    clusters: new ClusterManager({ logger: opts.logger }),
    egress: new EgressPolicyChecker(undefined),
    egressMode: 'REGISTRY_ONLY',
    tracing: undefined,
    peers: new Map(),
    draining: false,
  };
  const listeners: ProxyListener[] = [];
  try {
    const snapshot = parseSnapshot(warmupSnapshot(kinds, portOf(upstream)), 'the warm-up snapshot');
    ctx.clusters.update(snapshot.clusters);
    for (const listener of snapshot.listeners) {
      const bound = new ProxyListener(ctx, {
        listener,
        routes: new RouteTable(listener.virtualHosts, { where: 'warm-up' }),
        limiter: undefined,
        maxConnections: 1024,
        limits: codecLimits(listener.limits, 10_000),
        authorization: undefined,
      });
      listeners.push(bound);
      await bound.listen({ host: LOOPBACK, port: 0, reusePort: false });
    }
    let left = opts.requests;
    const more = (): boolean => left-- > 0 && performance.now() < deadline;
    const perKind = opts.connections ?? 4;
    const answered = await Promise.all(
      listeners.flatMap((listener, i) =>
        Array.from({ length: perKind }, () =>
          client(portOf(listener.server), requestFor(kinds[i] as ListenerKind), more),
        ),
      ),
    );
    return { requests: answered.reduce((sum, n) => sum + n, 0), ms: performance.now() - began };
  } finally {
    for (const listener of listeners) listener.close();
    upstream.close();
    await Promise.all([ctx.clusters.close(), accessLog.close()]);
  }
}
