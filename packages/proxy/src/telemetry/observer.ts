// Telemetry's side of the request path: the observer the listeners report to. Each finished request
// becomes Istio's standard metrics (labels from config: this node, the known peer, the chosen endpoint) and
// one access-log line; tunnels count as TCP. The request path never imports this file.
import { PASSTHROUGH_CLUSTER, type PeerInfo } from '@strait/api';
import { meshTls } from '../identity/mesh-tls.ts';
import type {
  ListenerConfig,
  NodeIdentity,
  RequestObserver,
  StreamRecord,
  TunnelTotals,
} from '../listener/context.ts';
import type { Host, UpstreamCluster } from '../upstream/index.ts';
import type { AccessLog } from './access-log.ts';
import type { RequestSeries } from './istio-metrics.ts';
import { type DestinationInfo, type LabelsForInput, labelsFor } from './labels.ts';
import type { ProxyTelemetry } from './metrics.ts';
import type { SpanExporter } from './span-exporter.ts';
import { spansOf } from './spans.ts';

/** The series of the last finished request and what it was looked up by. */
interface LastSeries {
  config: ListenerConfig;
  routeName: string;
  clusterName: string;
  cluster: UpstreamCluster | undefined;
  host: Host | undefined;
  peerKey: string;
  peerPrincipal: string;
  series: RequestSeries;
}

export interface ObserverContext {
  node: NodeIdentity;
  /** The known peers of the current snapshot, by `namespace/workload`. */
  peers(): ReadonlyMap<string, PeerInfo>;
  /** Where a traced request's spans go. */
  spans?: SpanExporter;
}

export class TelemetryObserver implements RequestObserver {
  readonly #telemetry: ProxyTelemetry;
  readonly #log: AccessLog;
  readonly #ctx: ObserverContext;
  #last: LastSeries | undefined;

  constructor(telemetry: ProxyTelemetry, log: AccessLog, ctx: ObserverContext) {
    this.#telemetry = telemetry;
    this.#log = log;
    this.#ctx = ctx;
  }

  requestDone(r: StreamRecord): void {
    this.#seriesFor(r).record(r.status, r.flag, r.durationMs, r.requestBytes, r.responseBytes);
    this.#logLine(r, r.responseBytes);
    const trace = r.trace;
    if (trace !== undefined) this.#ctx.spans?.add(spansOf(r, trace, this.#ctx.node));
  }

  tunnelOpened(r: StreamRecord): void {
    this.#tcpSeries(r).opened();
  }

  tunnelClosed(r: StreamRecord, totals: TunnelTotals): void {
    if (totals.opened) {
      const series = this.#tcpSeries(r);
      series.sent(totals.sentBytes);
      series.received(totals.receivedBytes);
      series.closed();
    }
    this.#logLine(r, totals.sentBytes);
  }

  refused(_config: ListenerConfig, remoteAddress: string, status: number, code: string): void {
    this.#log.log({
      start_time: Date.now(),
      method: '-',
      path: '-',
      protocol: 'HTTP/1.1',
      response_code: status,
      response_flags: 'DPE',
      bytes_received: 0,
      bytes_sent: 0,
      duration: 0,
      upstream_cluster: '-',
      downstream_remote_address: remoteAddress,
      route_name: '-',
      response_code_details: code,
    });
  }

  rateLimited(listener: string, route: string): void {
    this.#telemetry.rateLimited(listener, route);
  }

  egressAllowed(host: string): void {
    this.#telemetry.egressAllowed(host);
  }

  egressDenied(reason: string, host: string): void {
    this.#telemetry.egressDenied(reason, host);
  }

  connectionsChanged(listener: string, delta: 1 | -1): void {
    this.#telemetry.connectionsChanged(listener, delta);
  }

  connectionOverflow(listener: string): void {
    this.#telemetry.connectionOverflow(listener);
  }

  #logLine(r: StreamRecord, bytesSent: number): void {
    this.#log.log({
      start_time: r.startTime,
      method: r.method,
      path: r.path,
      protocol: 'HTTP/1.1',
      response_code: r.status,
      response_flags: r.flag,
      bytes_received: r.requestBytes,
      bytes_sent: bytesSent,
      duration: Math.round(r.durationMs),
      upstream_host: r.host?.key ?? '-',
      upstream_cluster: r.clusterName,
      x_request_id: r.requestId,
      authority: r.authority,
      user_agent: r.userAgent ?? '-',
      downstream_remote_address: r.remoteAddress,
      route_name: r.routeName,
    });
  }

  /**
   * The request series for a finished request. Consecutive requests usually share listener, route,
   * cluster, host and peer, so the last lookup is kept and reused without building a key.
   */
  #seriesFor(r: StreamRecord): RequestSeries {
    const last = this.#last;
    if (
      last !== undefined &&
      last.config === r.config &&
      last.routeName === r.routeName &&
      last.clusterName === r.clusterName &&
      last.cluster === r.cluster &&
      last.host === r.host &&
      last.peerKey === r.peerKey &&
      last.peerPrincipal === r.peerPrincipal
    )
      return last.series;
    const key = `${r.config.listener.name}\u0000${r.routeName}\u0000${r.clusterName}\u0000${r.host?.key ?? ''}\u0000${r.peerKey}\u0000${r.peerPrincipal}`;
    const series = this.#telemetry.requestSeriesByKey(key, () => labelsFor(this.#labelInput(r, 'http')));
    this.#last = {
      config: r.config,
      routeName: r.routeName,
      clusterName: r.clusterName,
      cluster: r.cluster,
      host: r.host,
      peerKey: r.peerKey,
      peerPrincipal: r.peerPrincipal,
      series,
    };
    return series;
  }

  #tcpSeries(r: StreamRecord) {
    return this.#telemetry.tcpSeries(labelsFor(this.#labelInput(r, 'tcp')));
  }

  #labelInput(r: StreamRecord, protocol: 'http' | 'tcp') {
    const inbound = r.config.listener.kind === 'inbound';
    const reporter: 'source' | 'destination' = inbound ? 'destination' : 'source';
    const source = inbound ? this.#peerOf(r) : this.#selfPeer();
    const own = meshTls.spiffeId ?? '';
    let principals: Pick<LabelsForInput, 'mtls' | 'sourcePrincipal' | 'destinationPrincipal'>;
    if (inbound) {
      const mtls = r.peerPrincipal !== '';
      principals = { mtls, sourcePrincipal: r.peerPrincipal, destinationPrincipal: mtls ? own : '' };
    } else {
      // The identity the client checked the server against, when the hop was mutual TLS.
      const tls = r.cluster?.config.tls;
      const peer = tls?.mode === 'ISTIO_MUTUAL' && r.host?.tlsConnect ? (tls.subjectAltNames[0] ?? '') : '';
      principals = { mtls: peer !== '', sourcePrincipal: peer ? own : '', destinationPrincipal: peer };
    }
    return { reporter, source, destination: this.#destination(r, inbound), protocol, ...principals };
  }

  #peerOf(r: StreamRecord): PeerInfo | undefined {
    return r.peerKey === '' ? undefined : this.#ctx.peers().get(r.peerKey);
  }

  #selfPeer(): PeerInfo {
    const n = this.#ctx.node;
    return { workload: n.workload, namespace: n.namespace, app: n.app, version: n.version };
  }

  /** Destination labels: this proxy's own workload at an inbound listener, else the chosen endpoint's. */
  #destination(r: StreamRecord, inbound: boolean): DestinationInfo {
    const n = this.#ctx.node;
    if (inbound)
      return {
        workload: n.workload,
        namespace: n.namespace,
        app: n.app,
        version: n.version,
        service: n.app,
        serviceName: n.app,
      };
    const cluster = r.cluster;
    const service =
      cluster?.config.service ?? (cluster?.name === PASSTHROUGH_CLUSTER ? PASSTHROUGH_CLUSTER : undefined);
    const labels = r.host?.endpoint.labels;
    return {
      workload: r.host?.endpoint.workload,
      namespace: r.host?.endpoint.namespace,
      app: labels?.app ?? service,
      version: labels?.version,
      service,
      serviceName: service,
    };
  }
}
