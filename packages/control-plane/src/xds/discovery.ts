// The discovery service: accepts streams and ACKs, and wires the push path together — the snapshot cache
// (what each proxy should run), the scheduler (when a push starts), the push window (how many writes at
// once), one session per stream (what each proxy holds) and the push metrics. It also answers for status.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AckMessageSchema,
  DiscoveryRequestSchema,
  describeIssues,
  Errors,
  HEARTBEAT_DEAD_AFTER_MS,
  HEARTBEAT_INTERVAL_MS,
  issuesOf,
  type NodeInfo,
  type ProxyStatus,
  REPLICA_HEADER,
  StraitError,
  type SyncStatus,
} from '@strait/api';
import type { Logger } from 'pino';
import type { ConfigStore } from '../config/types.ts';
import type { Registry } from '../registry/registry.ts';
import type { ControlPlaneTelemetry } from '../telemetry/metrics.ts';
import type { MeshSecurity } from '../translate/mesh-index.ts';
import type { VersionedSnapshot } from '../translate/snapshot.ts';
import { SnapshotCache } from './cache.ts';
import { PushMetrics } from './push-metrics.ts';
import { PushWindow, type QueuedPush } from './push-window.ts';
import { type PendingPush, PushScheduler } from './scheduler.ts';
import { StreamSession, type SyncLedger } from './session.ts';

export interface DiscoveryOptions {
  store: ConfigStore;
  registry: Registry;
  telemetry: ControlPlaneTelemetry;
  logger: Logger;
  /** This replica's name: told to proxies when their stream opens, and in the status. */
  replica: string;
  debounceMs: number;
  /** A push waits at most this long after the first change, however busy things are. Default 10 × debounceMs. */
  debounceMaxMs?: number;
  heartbeatMs?: number;
  /** An unanswered push is given up after this long (the next is the full state). Default 3 heartbeats. */
  ackTimeoutMs?: number;
  /**
   * After start, hold pushes to proxies that reconnect with a config already running, until this many
   * ms have passed, so a restarted control plane does not push half-registered endpoint lists. Default 0.
   */
  warmupMs?: number;
  /** Writes in flight at once (istiod's PILOT_PUSH_THROTTLE); the others queue. Default 100. */
  pushConcurrency?: number;
  /** Set when the control plane runs the mesh's CA: snapshots then make every mesh hop mutual TLS. */
  security?: MeshSecurity | undefined;
}

/** A proxy the control plane knows: its description, its sync ledger and its stream, if connected. */
interface ProxyRecord {
  node: NodeInfo;
  ledger: SyncLedger;
  session: StreamSession | undefined;
}

export class DiscoveryService {
  readonly #o: DiscoveryOptions;
  readonly #metrics: PushMetrics;
  readonly #cache: SnapshotCache;
  readonly #window: PushWindow<StreamSession>;
  readonly #scheduler: PushScheduler;
  readonly #proxies = new Map<string, ProxyRecord>();
  /** New streams waiting for their first message; answered together, from one translation. */
  readonly #arrivals: { session: StreamSession; reconnect: boolean }[] = [];
  readonly #warmUntil: number;
  readonly #nonceSalt = randomBytes(3).toString('hex');
  #nonce = 0;
  /** The registry changed since bookkeeping of departed proxies was last dropped. */
  #registryChanged = false;
  #closed = false;

  constructor(options: DiscoveryOptions) {
    this.#o = options;
    this.#warmUntil = Date.now() + (options.warmupMs ?? 0);
    this.#metrics = new PushMetrics(options.telemetry);
    this.#cache = new SnapshotCache({
      resources: () => options.store.resources,
      proxies: () => options.registry.nodes(),
      security: options.security,
      metrics: this.#metrics,
      logger: options.logger,
    });
    this.#window = new PushWindow({
      limit: options.pushConcurrency ?? 100,
      send: (session, push) => this.#send(session, push),
      onDrained: () => this.#scheduler.windowDrained(),
    });
    this.#scheduler = new PushScheduler({
      debounceMs: options.debounceMs,
      debounceMaxMs: options.debounceMaxMs ?? options.debounceMs * 10,
      windowBusy: () => this.#window.busy,
      push: (pending) => this.#pushAll(pending),
    });
    options.store.on('change', ({ at }) => {
      this.#cache.invalidate();
      this.#metrics.inboundUpdate('config');
      this.#scheduler.change(at, 'config');
    });
    options.registry.on('change', ({ at }) => {
      this.#cache.invalidate();
      this.#registryChanged = true;
      this.#metrics.inboundUpdate('eds');
      this.#scheduler.change(at, 'endpoint');
    });
  }

  /** Queues every connected proxy whose wanted config differs from what it holds. */
  #pushAll(pending: PendingPush): void {
    const started = performance.now();
    this.#metrics.pushStarted(pending);
    if (this.#registryChanged) this.#forgetGone();
    let queued = 0;
    for (const { node, session } of this.#proxies.values()) {
      if (!session) continue;
      const wanted = this.#cache.wanted(node);
      if (!wanted || !session.want(wanted)) continue;
      this.#window.enqueue(session, pending.changeAt, false);
      queued++;
    }
    if (queued > 0)
      this.#o.logger.info(
        {
          proxies: queued,
          ms: Math.round(performance.now() - started),
          sinceChangeMs: Date.now() - pending.changeAt,
        },
        'push started',
      );
  }

  /**
   * A proxy's turn in the push window: it is sent what it wants as of the latest push (changes since then
   * come with the next push; translating again here would cost a translation per proxy in a storm).
   */
  #send(session: StreamSession, push: QueuedPush): Promise<void> | undefined {
    const written = session.push(push.changeAt);
    if (written) this.#metrics.queued(Date.now() - push.queuedAt);
    return written;
  }

  /** A session's message was answered: what it came to want meanwhile goes next. */
  #onIdle(session: StreamSession): void {
    const changeAt = session.takePendingChange();
    if (session.needsPush()) this.#window.enqueue(session, changeAt ?? Date.now(), false);
  }

  /** POST /v1/discovery: validates the request, registers the node and keeps the response open as the stream. */
  openStream(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    authorize?: (node: NodeInfo) => void,
  ): void {
    const parsed = DiscoveryRequestSchema.safeParse(body);
    if (!parsed.success)
      throw new StraitError(Errors.BAD_REQUEST, describeIssues(issuesOf(parsed.error), 'discovery request'));
    const { node, resources: held } = parsed.data;
    authorize?.(node);
    const previous = this.#proxies.get(node.id);
    if (previous?.session) {
      if (previous.node.address !== node.address)
        this.#o.logger.warn(
          { proxy: node.id, old: previous.node.address, new: node.address },
          'two proxies use the same id; the newer connection replaces the older (give each proxy its own --id)',
        );
      this.#closeSession(previous);
    }
    const record: ProxyRecord = previous ?? { node, ledger: {}, session: undefined };
    record.node = node;
    this.#proxies.set(node.id, record);

    req.socket.setKeepAlive(true, 5000);
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    res.writeHead(200, {
      'content-type': 'application/x-ndjson',
      'cache-control': 'no-store',
      [REPLICA_HEADER]: this.#o.replica,
    });
    // The stream is answered now; its first message may wait its turn in the push window.
    res.flushHeaders();

    const heartbeatMs = this.#o.heartbeatMs ?? HEARTBEAT_INTERVAL_MS;
    const session = new StreamSession({
      node,
      stream: res,
      ledger: record.ledger,
      ...(held ? { held } : {}),
      heartbeatMs,
      ackTimeoutMs: this.#o.ackTimeoutMs ?? (heartbeatMs * HEARTBEAT_DEAD_AFTER_MS) / HEARTBEAT_INTERVAL_MS,
      metrics: this.#metrics,
      logger: this.#o.logger,
      nonce: () => `${this.#nonceSalt}-${++this.#nonce}`,
      onIdle: (s) => this.#onIdle(s),
    });
    record.session = session;
    this.#o.registry.connect(node);
    this.#metrics.connected(this.connectedCount());
    this.#arrive(session, held !== undefined && held.length > 0);

    const onClose = () => {
      if (record.session !== session) return;
      this.#closeSession(record);
      this.#o.registry.disconnect(node.id);
      this.#metrics.connected(this.connectedCount());
      this.#o.logger.info({ proxy: node.id }, 'proxy disconnected');
    };
    res.on('close', onClose);
    req.on('close', () => {
      if (res.writableEnded || res.destroyed) onClose();
    });
    this.#o.logger.info({ proxy: node.id, role: node.role, workload: node.workload }, 'proxy connected');
  }

  /**
   * Queues a new stream for its first message. Streams that open in the same turn of the event loop are
   * answered together, so a crowd of (re)connecting proxies costs one translation, not one each.
   */
  #arrive(session: StreamSession, reconnect: boolean): void {
    this.#arrivals.push({ session, reconnect });
    if (this.#arrivals.length === 1) setImmediate(() => this.#welcomeArrivals());
  }

  #welcomeArrivals(): void {
    const arrivals = this.#arrivals.splice(0);
    if (this.#closed) return;
    for (const { session, reconnect } of arrivals) if (!session.closed) this.#welcome(session, reconnect);
  }

  /** The first answer on a new stream: what the proxy lacks, or a heartbeat when it lacks nothing. */
  #welcome(session: StreamSession, reconnect: boolean): void {
    const now = Date.now();
    if (reconnect && now < this.#warmUntil) {
      // Just restarted: wait for the other proxies to come back before pushing (see warmupMs).
      this.#scheduler.holdUntil(this.#warmUntil);
      session.heartbeat();
      this.#scheduler.change(now, 'proxy');
      return;
    }
    const wanted = this.#cache.wanted(session.node);
    if (!wanted || !session.want(wanted)) {
      session.heartbeat();
      return;
    }
    this.#metrics.proxyTriggered();
    this.#window.enqueue(session, now, true);
  }

  #closeSession(record: ProxyRecord): void {
    const session = record.session;
    if (!session) return;
    record.session = undefined;
    this.#window.remove(session);
    session.close();
  }

  /**
   * POST /v1/discovery/ack. `current` is false for a nonce that is no longer current (ignored). `authorize`
   * checks the caller may speak for the proxy.
   */
  receiveAck(body: unknown, authorize?: (node: NodeInfo) => void): { current: boolean } {
    const parsed = AckMessageSchema.safeParse(body);
    if (!parsed.success)
      throw new StraitError(Errors.BAD_REQUEST, describeIssues(issuesOf(parsed.error), 'discovery ack'));
    const ack = parsed.data;
    const session = this.#proxies.get(ack.nodeId)?.session;
    if (!session) throw new StraitError(Errors.NOT_FOUND, `no proxy "${ack.nodeId}" is connected`);
    authorize?.(session.node);
    return session.answer(ack);
  }

  connectedCount(): number {
    let n = 0;
    for (const r of this.#proxies.values()) if (r.session) n++;
    return n;
  }

  /** Connected proxies' descriptions (for Prometheus discovery). */
  connectedNodes(): NodeInfo[] {
    return [...this.#proxies.values()].filter((r) => r.session).map((r) => r.node);
  }

  /** The snapshot the control plane currently wants this proxy to run. */
  snapshotOf(id: string): VersionedSnapshot | undefined {
    const node = this.#proxies.get(id)?.node ?? this.#o.registry.nodes().find((n) => n.id === id);
    return node ? this.#cache.wanted(node)?.snapshot : undefined;
  }

  /**
   * The status of every proxy this replica knows: those connected here, and those that were and have not
   * moved to another replica (a proxy connected to another replica is that replica's to report).
   */
  status(): ProxyStatus[] {
    const out: ProxyStatus[] = [];
    for (const r of [...this.#proxies.values()].sort((a, b) => a.node.id.localeCompare(b.node.id))) {
      const { node: n, ledger } = r;
      const registeredThrough = this.#o.registry.replicaOf(n.id);
      if (!r.session && registeredThrough !== undefined && registeredThrough !== this.#o.replica) continue;
      const current = (r.session ? this.#cache.wanted(n)?.version : undefined) ?? ledger.sent?.version;
      let status: SyncStatus = 'STALE';
      if (ledger.nack && ledger.nack.nonce === ledger.sent?.nonce && ledger.acked?.version !== current)
        status = 'NACKED';
      else if (r.session && current !== undefined && ledger.acked?.version === current) status = 'SYNCED';
      const entry: ProxyStatus = {
        id: n.id,
        role: n.role,
        workload: n.workload,
        namespace: n.namespace ?? 'default',
        connected: r.session !== undefined,
        status,
      };
      if (n.service) entry.service = n.service;
      if (n.version) entry.version = n.version;
      if (n.address) entry.address = n.address;
      if (n.statsAddress) entry.statsAddress = n.statsAddress;
      if (n.adminAddress) entry.adminAddress = n.adminAddress;
      if (r.session) entry.connectedSince = new Date(r.session.connectedSince).toISOString();
      if (current) entry.currentVersion = current;
      if (ledger.sent) entry.sentVersion = ledger.sent.version;
      if (ledger.acked) {
        entry.ackedVersion = ledger.acked.version;
        entry.ackedAt = new Date(ledger.acked.at).toISOString();
      }
      if (ledger.nack) entry.lastNack = { ...ledger.nack, at: new Date(ledger.nack.at).toISOString() };
      if (ledger.pushLatencyMs !== undefined) entry.lastPushLatencyMs = ledger.pushLatencyMs;
      entry.replica = r.session ? this.#o.replica : (registeredThrough ?? this.#o.replica);
      out.push(entry);
    }
    return out;
  }

  /** Drops bookkeeping for proxies that are neither connected nor registered any more. */
  #forgetGone(): void {
    this.#registryChanged = false;
    const registered = new Set(this.#o.registry.nodes().map((n) => n.id));
    for (const [id, record] of this.#proxies)
      if (!record.session && !registered.has(id)) {
        this.#proxies.delete(id);
        this.#cache.forget(id);
      }
  }

  close(): void {
    this.#closed = true;
    this.#scheduler.close();
    this.#window.close();
    for (const record of this.#proxies.values()) this.#closeSession(record);
  }
}
