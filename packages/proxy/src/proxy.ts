// The proxy process: owns the listeners, clusters, telemetry and admin, and applies snapshots
// all-or-nothing (Envoy's subscription contract: accept and echo, or reject and keep the last good).
import {
  Errors,
  encodePeer,
  type NodeInfo,
  PASSTHROUGH_CLUSTER,
  Ports,
  peerOfNode,
  type Snapshot,
  StraitError,
} from '@strait/api';
import { compileAuthorization } from '@strait/api/routing';
import pino, { type Logger } from 'pino';
import { startAdminServers } from './admin/index.ts';
import { codecLimits, defaultMaxConnections } from './config/limits.ts';
import { adminBindings, type ProxyOptions } from './config/options.ts';
import { EgressPolicyChecker } from './egress/index.ts';
import { TokenBucketLimiter } from './filters/index.ts';
import { type CertificateSummary, type MeshCredentials, summarise } from './identity/credentials.ts';
import { meshTls } from './identity/mesh-tls.ts';
import type { ListenerConfig, NodeIdentity, ProxyContext } from './listener/context.ts';
import { ProxyListener } from './listener/listener.ts';
import { knownPeers } from './listener/peers.ts';
import { RouteTable } from './router/index.ts';
import {
  AccessLog,
  ProxyTelemetry,
  SpanExporter,
  TelemetryObserver,
  tracingServiceName,
} from './telemetry/index.ts';
import { ClusterManager } from './upstream/index.ts';
import { warmUp } from './warmup/warmup.ts';
import type { DiscoveryClient } from './xds/client.ts';

/** This build's version, for istio_build{tag}. */
export const STRAIT_VERSION = '0.1.0';

export class StraitProxy {
  readonly options: ProxyOptions;
  readonly logger: Logger;
  readonly ctx: ProxyContext;
  readonly node: NodeInfo;
  snapshot: Snapshot | undefined;
  discovery: DiscoveryClient | undefined;
  readonly telemetry: ProxyTelemetry;
  readonly #accessLog: AccessLog;
  readonly #spans: SpanExporter;
  readonly #listeners = new Map<string, ProxyListener>();
  #admin: { close(): Promise<void>; ports: { admin: number; stats: number; ready: number } } | undefined;
  #applying: Promise<void> = Promise.resolve();
  /** The warm-up, started once; listeners open only after it (readiness means ready at speed). */
  #warmedUp: Promise<void> | undefined;

  constructor(options: ProxyOptions, logger?: Logger) {
    this.options = options;
    this.logger = logger ?? pino({ level: options.logLevel, base: { proxy: options.id } });
    this.node = nodeInfoOf(options);
    const identity = identityOf(options);
    const telemetry = new ProxyTelemetry({ version: STRAIT_VERSION });
    // With --workers, several processes write this log to the same stdout.
    const accessLog = new AccessLog({ enabled: options.accessLog, shared: options.workers > 1 });
    telemetry.countAccessLogDrops(() => accessLog.dropped);
    const clusters = new ClusterManager({
      logger: this.logger,
      events: {
        healthCheck: (cluster, _host, _healthy, result) => telemetry.healthCheckResult(cluster.name, result),
        ejection: (cluster) => telemetry.outlierEjected(cluster.name),
        healthyCount: (cluster, healthy, total) =>
          telemetry.setClusterEndpoints(cluster.name, healthy, total),
        circuitOpen: (cluster, breaker) => telemetry.circuitOpen(cluster.name, breaker),
      },
    });
    this.telemetry = telemetry;
    this.#accessLog = accessLog;
    this.#spans = new SpanExporter({
      registry: telemetry.registry,
      logger: this.logger,
      resource: [
        { key: 'service.name', value: { stringValue: tracingServiceName(identity) } },
        { key: 'service.instance.id', value: { stringValue: options.id } },
        { key: 'service.version', value: { stringValue: STRAIT_VERSION } },
      ],
    });
    const observer = new TelemetryObserver(telemetry, accessLog, {
      node: identity,
      peers: () => this.ctx.peers,
      spans: this.#spans,
    });
    this.ctx = {
      node: identity,
      logger: this.logger,
      observer,
      clusters,
      egress: new EgressPolicyChecker(undefined),
      egressMode: 'REGISTRY_ONLY',
      tracing: undefined,
      peers: new Map(),
      draining: false,
    };
  }

  /** Starts the admin servers and the warm-up; listeners come with the first snapshot. */
  async start(): Promise<void> {
    this.#warmUp();
    this.#admin = await startAdminServers({
      ...adminBindings(this.options),
      ctx: {
        configDump: () => ({ node: this.node, snapshot: this.snapshot, discovery: this.discovery?.status }),
        clusters: () => this.ctx.clusters.dump(),
        isReady: () => this.snapshot !== undefined && !this.ctx.draining,
        isDraining: () => this.ctx.draining,
        setLogLevel: (level: string) => {
          if (!Object.hasOwn(this.logger.levels.values, level)) return false;
          this.logger.level = level;
          return true;
        },
        drain: () => this.drain(),
        metrics: () => this.telemetry.metrics(),
        metricsContentType: this.telemetry.contentType,
        serverInfo: () => ({
          node: this.node,
          version: this.snapshot?.version,
          state: this.ctx.draining ? 'DRAINING' : 'LIVE',
        }),
      },
    });
  }

  get adminPorts(): { admin: number; stats: number; ready: number } | undefined {
    return this.#admin?.ports;
  }

  /** Applies a snapshot; serialised so two pushes never interleave. Throws (and changes nothing) on failure. */
  apply(snapshot: Snapshot): Promise<void> {
    const run = this.#applying.then(() => this.#apply(snapshot));
    this.#applying = run.catch(() => {});
    return run;
  }

  /**
   * Takes a new mesh certificate: listeners and upstream mTLS present it from their next handshake, and open
   * connections keep theirs, so a rotation drops nothing. An older one than held (a late message) is ignored.
   * Answers with what the proxy presents now.
   */
  installCredentials(credentials: MeshCredentials): CertificateSummary {
    const held = meshTls.credentials;
    if (!held || credentials.generation > held.generation) meshTls.update(credentials);
    return summarise(meshTls.credentials ?? credentials);
  }

  /** Warms the request path once (while a control plane is still being reached); never fails the proxy. */
  #warmUp(): Promise<void> {
    this.#warmedUp ??=
      this.options.warmupRequests <= 0
        ? Promise.resolve()
        : warmUp(this.options.role, {
            node: this.ctx.node,
            logger: this.logger,
            version: STRAIT_VERSION,
            requests: this.options.warmupRequests,
          }).then(
            ({ requests, ms }) => this.logger.info({ requests, ms: Math.round(ms) }, 'warm-up done'),
            (err: unknown) => this.logger.warn({ err }, 'warm-up failed; serving without it'),
          );
    return this.#warmedUp;
  }

  async #apply(snapshot: Snapshot): Promise<void> {
    await this.#warmUp();
    // 1. Compile everything that can fail, touching nothing live.
    const compiled = new Map<string, ListenerConfig>();
    const connectionCap = defaultMaxConnections(snapshot.listeners.length);
    snapshot.listeners.forEach((listener, i) => {
      const previous = this.#listeners.get(listener.name)?.config;
      // An unchanged bucket is kept, so a config push does not refill it.
      const keepLimiter = listener.rateLimit && previous?.limiter?.sameBucket(listener.rateLimit);
      compiled.set(listener.name, {
        listener,
        routes: new RouteTable(listener.virtualHosts, {
          previous: previous?.routes,
          where: `listeners[${i}].virtualHosts`,
        }),
        limiter: keepLimiter
          ? previous?.limiter
          : listener.rateLimit
            ? new TokenBucketLimiter(listener.rateLimit)
            : undefined,
        maxConnections: listener.maxConnections ?? connectionCap,
        limits: codecLimits(listener.limits, this.options.headersTimeoutMs),
        authorization: compileAuthorization(listener.authorization),
      });
    });
    const egress = new EgressPolicyChecker(snapshot.egress);
    const clusters = snapshot.clusters.some((c) => c.name === PASSTHROUGH_CLUSTER)
      ? snapshot.clusters
      : [...snapshot.clusters, { ...passthrough }];
    ClusterManager.validate(clusters);

    // 2. Bind listeners that are new or moved; on failure close what was bound and give up.
    const bound: [string, ProxyListener][] = [];
    try {
      for (const [name, config] of compiled) {
        const running = this.#listeners.get(name);
        if (running && running.port === config.listener.port) continue;
        bound.push([name, await this.#bind(config)]);
      }
    } catch (err) {
      for (const [, listener] of bound) listener.close();
      throw new StraitError(Errors.SNAPSHOT_APPLY_FAILED, (err as Error).message, { cause: err });
    }

    // 3. Swap: clusters, egress policy, listener configs; retire listeners that went away.
    this.ctx.clusters.update(clusters);
    this.ctx.egress = egress;
    this.ctx.egressMode = snapshot.egress?.mode ?? 'REGISTRY_ONLY';
    this.ctx.peers = knownPeers(snapshot.peers ?? []);
    this.#accessLog.setEnabled(this.options.accessLog && snapshot.telemetry.accessLog);
    const tracing = snapshot.telemetry.tracing;
    this.#spans.configure(tracing);
    this.ctx.tracing = tracing ? { samplingPercent: tracing.samplingPercentage } : undefined;
    const retired: ProxyListener[] = [];
    for (const [name, running] of this.#listeners) {
      const config = compiled.get(name);
      if (!config || config.listener.port !== running.port) {
        retired.push(running);
        this.#listeners.delete(name);
      } else running.config = config;
    }
    for (const [name, running] of bound) this.#listeners.set(name, running);
    this.snapshot = snapshot;
    this.telemetry.configApplied(snapshot.version);
    this.telemetry.retainClusters(clusters.map((c) => c.name));
    this.telemetry.setEgressAllowList((snapshot.egress?.allow ?? []).map((r) => r.host));
    await Promise.all(retired.map((r) => r.drain()));
    this.logger.info(
      { version: snapshot.version, listeners: [...this.#listeners.keys()] },
      'snapshot applied',
    );
  }

  async #bind(config: ListenerConfig): Promise<ProxyListener> {
    const listener = new ProxyListener(this.ctx, config);
    await listener.listen({
      // A sidecar's outbound listener is the app's HTTP proxy; it may bind elsewhere (e.g. 127.0.0.1 in a pod).
      host: config.listener.kind === 'outbound' ? this.options.outboundAddress : this.options.address,
      port: config.listener.port,
      // A --workers worker binds its own socket (exclusive: not through the cluster primary) next to its
      // siblings' (reusePort): the kernel spreads new connections over them.
      reusePort: this.options.workers > 1,
    });
    return listener;
  }

  /** Stops accepting, lets in-flight requests finish (up to the drain timeout). */
  async drain(): Promise<void> {
    if (this.ctx.draining) return;
    this.ctx.draining = true;
    this.logger.info('draining');
    const closing = [...this.#listeners.values()].map((l) => l.drain());
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.options.drainTimeoutMs).unref());
    await Promise.race([Promise.all(closing), timeout]);
    for (const l of this.#listeners.values()) l.close();
  }

  async stop(): Promise<void> {
    await this.drain();
    await this.discovery?.stop();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([this.ctx.clusters.close(), timeout]);
    await this.#accessLog.close();
    await Promise.race([
      this.#spans.close(),
      new Promise<void>((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
    await this.#admin?.close();
  }
}

const passthrough: Snapshot['clusters'][number] = {
  name: PASSTHROUGH_CLUSTER,
  type: 'ORIGINAL_DST',
  lbPolicy: 'ROUND_ROBIN',
  endpoints: [],
  connectTimeoutMs: 1000,
  idleTimeoutMs: 4000,
  panicThresholdPercent: 0,
};

export function nodeInfoOf(o: ProxyOptions): NodeInfo {
  const ports: Record<string, number> =
    o.role === 'sidecar'
      ? { inbound: Ports.sidecarInbound, outbound: Ports.sidecarOutbound }
      : { gateway: o.role === 'egress' ? Ports.egress : Ports.gateway };
  ports.admin = o.adminPort;
  ports.stats = o.statsPort;
  return {
    id: o.id,
    role: o.role,
    workload: o.workload,
    namespace: o.namespace,
    service: o.service,
    version: o.version,
    address: o.address,
    appAddress: o.appAddress,
    appPort: o.appPort,
    ports,
    statsAddress: `${o.statsAddress}:${o.statsPort}`,
    adminAddress: `${o.adminAddress}:${o.adminPort}`,
  };
}

function identityOf(o: ProxyOptions): NodeIdentity {
  const peer = peerOfNode(o);
  return {
    id: o.id,
    role: o.role,
    ...peer,
    peerHeader: encodePeer(peer),
    via: `1.1 ${o.id} (strait-${o.role})`,
  };
}
