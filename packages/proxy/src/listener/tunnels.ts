// CONNECT and Upgrade requests leave the HTTP codec here for tunnel/: a CONNECT goes through the egress
// gateway for a registered external host, else where the egress policy allows; an upgrade follows its route
// to a host. Their bytes count as Istio's TCP metrics; their open and close reach the observer.
import type { Socket } from 'node:net';
import { Errors, PASSTHROUGH_CLUSTER, ResponseFlags } from '@strait/api';
import { HeaderList } from '../codec/headers.ts';
import { denyTarget, parseForwardTarget } from '../egress/index.ts';
import { answerAndClose, openTunnel, relayUpgrade, type TunnelStats } from '../tunnel/index.ts';
import type { Host } from '../upstream/index.ts';
import { denialReply, type ListenerProfile } from './profiles.ts';
import type { Stream } from './stream.ts';
import { upstreamFields } from './upstream-fields.ts';

/** Where a CONNECT goes, or why it may not. */
type ConnectPlan =
  | { refused: { status: number; flag: string; body: string } }
  | { clusterName: string; address: string; port: number; through?: string };

export function openTunnelFor(stream: Stream, profile: ListenerProfile, socket: Socket, head: Buffer): void {
  stream.tunnel = true;
  socket.on('error', () => {});
  if (stream.method === 'CONNECT') connect(stream, profile, socket, head);
  else upgrade(stream, profile, socket, head);
}

/** Answers the tunnel request itself and logs it. */
function refuse(stream: Stream, socket: Socket, status: number, flag: string, body: string): void {
  answerAndClose(socket, status, body);
  stream.finish(status, flag);
  stream.ctx.observer.tunnelClosed(stream, { opened: false, sentBytes: 0, receivedBytes: 0 });
}

function hooks(stream: Stream, host?: Host) {
  stream.host = host;
  return {
    onOpen: () => stream.ctx.observer.tunnelOpened(stream),
    onClose: (stats: TunnelStats) => {
      stream.finish(
        stats.status ?? (stats.opened ? 200 : 503),
        stats.opened ? ResponseFlags.NONE : ResponseFlags.UPSTREAM_CONNECT_FAILURE,
      );
      stream.ctx.observer.tunnelClosed(stream, stats);
    },
  };
}

function connect(stream: Stream, profile: ListenerProfile, socket: Socket, head: Buffer): void {
  if (!profile.acceptsConnect) {
    refuse(stream, socket, 405, ResponseFlags.NONE, 'CONNECT is not served here\n');
    return;
  }
  const exchange = stream.exchange;
  const t = parseForwardTarget({
    method: 'CONNECT',
    url: exchange.target,
    host: exchange.headers.get('host'),
  });
  if (!t.ok) {
    const reply = denialReply(stream, denyTarget(t));
    refuse(stream, socket, reply.status, reply.flag, reply.body);
    return;
  }
  stream.authority = `${t.host}:${t.port}`;
  void planConnect(stream, t.host, t.port).then(
    (plan) => {
      if ('refused' in plan) {
        refuse(stream, socket, plan.refused.status, plan.refused.flag, plan.refused.body);
        return;
      }
      stream.clusterName = plan.clusterName;
      stream.cluster = stream.ctx.clusters.get(plan.clusterName);
      const through = plan.through ? { connectThrough: plan.through } : {};
      openTunnel(socket, head, { address: plan.address, port: plan.port, ...through }, hooks(stream));
    },
    () => refuse(stream, socket, 500, ResponseFlags.NONE, 'internal error\n'),
  );
}

/** A sidecar sends registered external hosts through the egress gateway; everything else asks the policy. */
async function planConnect(stream: Stream, host: string, port: number): Promise<ConnectPlan> {
  const ctx = stream.ctx;
  if (stream.config.listener.kind === 'outbound') {
    const match = stream.config.routes.match({
      authority: `${host}:${port}`,
      path: '/',
      method: 'CONNECT',
      headers: stream.exchange.headers,
      port,
    });
    const cluster = match?.route.action ? ctx.clusters.get(match.route.pickCluster()) : undefined;
    if (cluster?.config.forwardProxy) {
      const gateway = cluster.choose({
        headers: stream.exchange.headers,
        sourceIp: '',
        originalDestination: undefined,
      });
      if (!gateway) {
        const denied = {
          allowed: false as const,
          host,
          port,
          reason: 'no healthy egress gateway',
          code: 'host-not-allowed' as const,
        };
        return { refused: denialReply(stream, denied) };
      }
      const { address, port: gatewayPort } = gateway.endpoint;
      return { clusterName: cluster.name, address, port: gatewayPort, through: `${host}:${port}` };
    }
  }
  const decision = await ctx.egress.check({ host, port });
  if (!decision.allowed) return { refused: denialReply(stream, decision) };
  ctx.observer.egressAllowed(decision.host);
  return { clusterName: PASSTHROUGH_CLUSTER, address: decision.address, port: decision.connectPort };
}

function upgrade(stream: Stream, profile: ListenerProfile, socket: Socket, head: Buffer): void {
  const target = profile.target(stream);
  if ('status' in target) {
    refuse(stream, socket, target.status, target.flag, target.body);
    return;
  }
  stream.target = target;
  stream.authority = target.authority;
  stream.path = target.path;
  void Promise.resolve(profile.resolve(stream)).then((reply) => {
    if (reply) {
      refuse(stream, socket, reply.status, reply.flag, reply.body);
      return;
    }
    const route = stream.route;
    const clusterName = route ? route.pickCluster() : stream.clusterName;
    stream.routeName = route?.name ?? '-';
    stream.clusterName = clusterName;
    const cluster = stream.ctx.clusters.get(clusterName);
    stream.cluster = cluster;
    const host = cluster?.choose({
      headers: stream.exchange.headers,
      sourceIp: stream.exchange.remoteAddress,
      originalDestination: stream.originalDestination,
    });
    if (!cluster || !host) {
      const spec = Errors.NO_HEALTHY_UPSTREAM;
      refuse(stream, socket, spec.status, ResponseFlags.NO_HEALTHY_UPSTREAM, 'no healthy upstream\n');
      return;
    }
    const raw = upstreamFields(stream, true);
    const authority = route?.rewriteAuthority ?? target.authority;
    const fields = new HeaderList(raw).toObject();
    fields.host = authority;
    const path = route ? route.rewritePath(target.path) : target.path;
    relayUpgrade(
      stream.method,
      socket,
      head,
      { address: host.endpoint.address, port: host.endpoint.port, headers: fields, path },
      hooks(stream, host),
    );
  });
}
