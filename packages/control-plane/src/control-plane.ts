// The control plane assembled: config store (a directory, or etcd shared with other replicas), registry,
// discovery, the API server (15010), the monitoring server (15014) and the mesh console (20001). `start()`
// listens; `stop()` closes all.
import type { Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TRUST_DOMAIN, Ports } from '@strait/api';
import { formatIssue } from '@strait/api/resources';
import { type Logger, pino } from 'pino';
import { createApiServer } from './api/server.ts';
import { type MeshIdentity, type MeshIdentityOptions, startMeshIdentity } from './ca/mesh-identity.ts';
import { tlsOrPlain } from './ca/tls-or-plain.ts';
import { chooseStore } from './config/open.ts';
import type { ConfigStore } from './config/types.ts';
import { ConfigHistory } from './console/config-history.ts';
import { createConsole, type MeshConsole } from './console/console.ts';
import type { EtcdReplication } from './etcd/replication.ts';
import { Registry } from './registry/registry.ts';
import { ControlPlaneTelemetry, type ReplicaView } from './telemetry/metrics.ts';
import { createMonitoringServer } from './telemetry/monitoring.ts';
import { countValidations } from './telemetry/validation-metrics.ts';
import { TraceStore } from './traces/store.ts';
import { DiscoveryService } from './xds/discovery.ts';

export interface ControlPlaneOptions {
  /** The config directory: the store, or with etcd the configuration written to it when it holds none. */
  configDir?: string;
  /** `etcd://host:2379,host:2379[/prefix]`: share the configuration and registrations with other replicas. */
  store?: string;
  /** This replica's name, unique among replicas. Default `<hostname>-<pid>`. */
  replicaId?: string;
  /** With etcd: how long a dead replica's registrations outlive it. Default 10 s. */
  leaseTtlSeconds?: number;
  /** With etcd: how often the leader compacts etcd's history. Default 5 min. */
  compactEveryMs?: number;
  address?: string;
  /** 0 picks a free port. */
  port?: number;
  monitoringPort?: number;
  /** The API token: resource writes, snapshot reads, the console (and discovery without `identity`). */
  token?: string | undefined;
  /**
   * The mesh's CA and join token: proxies get certificates and discovery needs one (the command always
   * sets this). Absent: discovery takes the API token, as before (tests of other parts use this).
   */
  identity?: MeshIdentityOptions;
  /** How long a disconnected proxy stays an endpoint. Default 10 s. */
  graceMs?: number;
  /** Push debounce. Default 100 ms. */
  debounceMs?: number;
  /** Snapshot writes in flight at once; the rest queue (istiod's PILOT_PUSH_THROTTLE). Default 100. */
  pushConcurrency?: number;
  heartbeatMs?: number;
  /** An unanswered push is given up after this long and the next is the full state. Default 3 heartbeats. */
  ackTimeoutMs?: number;
  /** After start, hold pushes to reconnecting proxies this long so all can re-register. Default 3 s. */
  warmupMs?: number;
  /** Keep registrations across restarts here; default `<configDir>/.strait-registry.json`; false: none
   * (with etcd, registrations live in etcd instead). */
  stateFile?: string | false;
  /** Watch the config directory for direct edits. Default true. */
  watch?: boolean;
  /** host:port Prometheus uses for this control plane's /metrics (default: the bound address). */
  advertiseAddress?: string;
  /** How long a client may take to send a whole API request. Default 30 s. */
  requestTimeoutMs?: number;
  /** The console's token; default `token`; false: the console is open (its port is loopback by default). */
  consoleToken?: string | false;
  /** Serve the mesh console on this port (0 picks a free one); absent: no console. */
  consolePort?: number;
  /** The console's built page (packages/console/dist). */
  consoleAssetsDir?: string;
  /** The console's traffic numbers come from this Prometheus; absent: it reads the proxies itself. */
  prometheusUrl?: string;
  /** The console's rate window. Default 30 s. */
  consoleWindowSeconds?: number;
  /** Time between the console's readings while someone watches. Default 2000 ms. */
  consoleTickMs?: number;
  logger?: Logger;
}

/** The ports `start()` bound (the real ones when 0 was asked for). */
export interface BoundPorts {
  port: number;
  monitoringPort: number;
  /** Absent when the console is off. */
  consolePort?: number;
}

export class ControlPlane {
  readonly options: ControlPlaneOptions;
  readonly logger: Logger;
  readonly store: ConfigStore;
  readonly registry: Registry;
  readonly replicaId: string;
  readonly #replication: EtcdReplication | undefined;
  readonly telemetry = new ControlPlaneTelemetry();
  readonly discovery: DiscoveryService;
  /** Spans the proxies export (OTLP on the API port), for the console and `straitctl traces`. */
  readonly traces = new TraceStore();
  #api: Server | undefined;
  /** The API port's listener when it takes TLS and plain HTTP both. */
  #apiPort: NetServer | undefined;
  #identity: MeshIdentity | undefined;
  #monitoring: Server | undefined;
  #console: MeshConsole | undefined;
  readonly #consoleHistory: ConfigHistory | undefined;

  constructor(options: ControlPlaneOptions) {
    this.options = options;
    this.replicaId = options.replicaId ?? `${hostname()}-${process.pid}`;
    this.logger = (options.logger ?? pino({ name: 'strait-control-plane' })).child({
      replica: this.replicaId,
    });
    const opened = chooseStore({
      ...(options.store !== undefined ? { store: options.store } : {}),
      ...(options.configDir !== undefined ? { configDir: options.configDir } : {}),
      watch: options.watch !== false,
      replica: this.replicaId,
      address: `${options.address ?? '127.0.0.1'}:${options.port ?? Ports.discovery}`,
      ...(options.leaseTtlSeconds !== undefined ? { leaseTtlSeconds: options.leaseTtlSeconds } : {}),
      ...(options.compactEveryMs !== undefined ? { compactEveryMs: options.compactEveryMs } : {}),
      onRelist: () => this.telemetry.storeRelists.inc(),
      logger: this.logger,
    });
    this.store = opened.store;
    this.#replication = opened.replication;
    const stateFile =
      options.stateFile === false || opened.shared || options.configDir === undefined
        ? undefined
        : (options.stateFile ?? join(options.configDir, '.strait-registry.json'));
    this.registry = new Registry({
      graceMs: options.graceMs ?? 10_000,
      ...(stateFile ? { stateFile } : {}),
      ...(opened.shared ? { shared: opened.shared } : {}),
    });
    this.discovery = new DiscoveryService({
      store: this.store,
      registry: this.registry,
      telemetry: this.telemetry,
      logger: this.logger,
      replica: this.replicaId,
      debounceMs: options.debounceMs ?? 100,
      warmupMs: options.warmupMs ?? 3000,
      pushConcurrency: options.pushConcurrency ?? 100,
      ...(options.identity
        ? { security: { trustDomain: options.identity.trustDomain ?? DEFAULT_TRUST_DOMAIN } }
        : {}),
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
      ...(options.ackTimeoutMs ? { ackTimeoutMs: options.ackTimeoutMs } : {}),
    });
    this.store.on('rejected', ({ source, issues }) => {
      this.telemetry.validationFailures.inc({ source });
      this.logger.warn({ source, errors: issues.map(formatIssue) }, 'configuration change refused');
    });
    this.store.on('change', () => this.#countResources());
    countValidations(this.store, this.telemetry);
    this.telemetry.trackReplica(() => this.replicaView());
    // Created before the config loads, so the console counts the first revision too.
    if (options.consolePort !== undefined) this.#consoleHistory = new ConfigHistory(this.store, []);
  }

  /** Loads the config (throws if it is invalid), restores the registry and starts listening. */
  async start(): Promise<BoundPorts> {
    await this.store.open();
    this.#countResources();
    const restored = await this.registry.restore();
    if (restored > 0) this.logger.info({ restored }, 'registrations restored from the last run');
    const address = this.options.address ?? '127.0.0.1';
    if (this.options.identity) {
      const t = this.telemetry;
      this.#identity = await startMeshIdentity(
        this.options.identity,
        { csr: () => t.csrs.inc(), issued: () => t.certsIssued.inc() },
        this.logger,
      );
      t.rootExpiry.set(this.#identity.ca.rootExpiresAt / 1000);
    }
    this.#api = createApiServer({
      store: this.store,
      discovery: this.discovery,
      traces: this.traces,
      replica: this.replicaId,
      token: this.options.token,
      identity: this.#identity,
      logger: this.logger,
      ...(this.options.requestTimeoutMs ? { requestTimeoutMs: this.options.requestTimeoutMs } : {}),
    });
    this.#monitoring = createMonitoringServer({
      telemetry: this.telemetry,
      connectedNodes: () => this.discovery.connectedNodes(),
      selfTarget: () => this.#selfTarget(),
    });
    const identity = this.#identity;
    if (identity) {
      const port = tlsOrPlain(this.#api, identity.serving.options);
      identity.serving.onRenew((options) => port.setSecureContext(options));
      this.#apiPort = port.server;
    }
    const port = await listen(this.#apiPort ?? this.#api, address, this.options.port ?? Ports.discovery);
    const monitoringPort = await listen(
      this.#monitoring,
      address,
      this.options.monitoringPort ?? Ports.monitoring,
    );
    const bound: BoundPorts = { port, monitoringPort };
    if (this.#consoleHistory && this.options.consolePort !== undefined) {
      this.#console = createConsole({
        // All the console reads of the control plane.
        status: {
          proxies: () => this.discovery.status(),
          connectedNodes: () => this.discovery.connectedNodes(),
          snapshotOf: (id) => this.discovery.snapshotOf(id),
          resources: () => this.store.resources,
        },
        history: this.#consoleHistory,
        traces: this.traces,
        prometheusUrl: this.options.prometheusUrl,
        windowSeconds: this.options.consoleWindowSeconds,
        tickMs: this.options.consoleTickMs,
        assetsDir: this.options.consoleAssetsDir,
        token:
          this.options.consoleToken === false ? undefined : (this.options.consoleToken ?? this.options.token),
        logger: this.logger,
      });
      bound.consolePort = await listen(this.#console.server, address, this.options.consolePort);
    }
    this.logger.info(
      { address, ...bound, resources: this.store.resources.length, store: this.store.description },
      'control plane listening',
    );
    return bound;
  }

  #selfTarget(): string {
    if (this.options.advertiseAddress) return this.options.advertiseAddress;
    const info = this.#monitoring?.address() as AddressInfo | null | undefined;
    const bound = this.options.address ?? '127.0.0.1';
    const host = bound === '0.0.0.0' || bound === '::' ? hostname() : bound;
    return `${host}:${info?.port ?? this.options.monitoringPort ?? Ports.monitoring}`;
  }

  /** The replica's name, leadership and store health (the metrics and the console read it). */
  replicaView(): ReplicaView {
    const replication = this.#replication?.status();
    // A directory store has one replica, which does everything a leader would.
    return replication ?? { replica: this.replicaId, isLeader: true, health: this.store.health() };
  }

  #countResources(): void {
    const counts: Record<string, number> = {};
    for (const r of this.store.resources) counts[r.kind] = (counts[r.kind] ?? 0) + 1;
    this.telemetry.setResourceCounts(counts);
  }

  /** The join token (and the file it is in) when the control plane runs the mesh's CA. */
  get joinToken(): { token: string; file: string | undefined } | undefined {
    return this.#identity
      ? { token: this.#identity.joinToken, file: this.#identity.joinTokenFile }
      : undefined;
  }

  async stop(): Promise<void> {
    this.discovery.close();
    this.#console?.service.close();
    this.#identity?.serving.close();
    this.#apiPort?.close();
    await Promise.all([close(this.#api), close(this.#monitoring), close(this.#console?.server)]);
    await this.registry.close();
    await this.store.close();
  }
}

function listen(server: NetServer, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
