// The discovery service: one long-lived NDJSON stream per proxy (POST /v1/discovery), snapshots pushed
// at once and after every relevant change (debounced), heartbeats, and ACK/NACK bookkeeping per proxy.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type DiscoveryMessage,
  Errors,
  HEARTBEAT_INTERVAL_MS,
  type NodeInfo,
  NodeInfoSchema,
  type ProxyStatus,
  StraitError,
  type SyncStatus,
} from '@strait/api';
import type { Logger } from 'pino';
import type { ConfigStore } from '../config/store.ts';
import type { Registry } from '../registry/registry.ts';
import type { ControlPlaneTelemetry } from '../telemetry/metrics.ts';
import { indexMesh } from '../translate/mesh-index.ts';
import { SharedTranslation, snapshotFor, type VersionedSnapshot } from '../translate/snapshot.ts';
import { writeSnapshotLine } from './wire.ts';

interface Sent {
  version: string;
  nonce: string;
  at: number;
  changeAt: number;
  /** Absent when the proxy brought its version along on reconnect and we never saw its content. */
  snapshot?: VersionedSnapshot;
}

interface Arrival {
  state: ProxyState;
  stream: ServerResponse;
  runningVersion: string | undefined;
}

interface ProxyState {
  node: NodeInfo;
  stream?: ServerResponse;
  heartbeat?: NodeJS.Timeout;
  connectedSince?: number;
  current?: VersionedSnapshot;
  sent?: Sent;
  acked?: { version: string; nonce: string; at: number };
  nack?: { version: string; nonce: string; error: string; keptVersion: string; at: number };
  pushLatencyMs?: number;
  unflushedSince?: number | undefined;
  /** Set while a snapshot write to this proxy has not reached the kernel; frees its push slot. */
  releaseWrite?: (() => void) | undefined;
}

export interface DiscoveryOptions {
  store: ConfigStore;
  registry: Registry;
  telemetry: ControlPlaneTelemetry;
  logger: Logger;
  debounceMs: number;
  /** A push waits at most this long after the first change, however busy things are. Default 10 × debounceMs. */
  debounceMaxMs?: number;
  heartbeatMs?: number;
  /**
   * After start, hold pushes to proxies that reconnect with a config already running, until this many
   * ms have passed, so a restarted control plane does not push half-registered endpoint lists. Default 0.
   */
  warmupMs?: number;
  /**
   * Snapshot writes in flight at once (istiod's PILOT_PUSH_THROTTLE); the other proxies wait their turn
   * in a queue that always sends a proxy its latest snapshot. Default 100.
   */
  pushConcurrency?: number;
}

export class DiscoveryService {
  readonly #o: DiscoveryOptions;
  readonly #proxies = new Map<string, ProxyState>();
  #timer: NodeJS.Timeout | undefined;
  #pendingChangeAt: number | undefined;
  /** When the first change waiting for the debounce came in. */
  #pendingSince: number | undefined;
  #fireAt = 0;
  #nonce = 0;
  readonly #nonceSalt = randomBytes(3).toString('hex');
  #closed = false;
  readonly #warmUntil: number;
  /** The translation of the current config and registry, built when first needed after a change. */
  #translation: SharedTranslation | undefined;
  /** Connected proxies' `current` snapshots predate the latest change. */
  #currentStale = false;
  /** The registry changed since bookkeeping of departed proxies was last dropped. */
  #registryChanged = false;
  /** New streams waiting for their first snapshot; answered together, from one translation. */
  readonly #arrivals: Arrival[] = [];
  /** Proxies waiting for a push slot, in order, with the earliest change each push carries. */
  readonly #queue = new Map<ProxyState, number>();
  /** Like #queue, for proxies that have no snapshot from this stream yet. */
  readonly #firstQueue = new Map<ProxyState, number>();
  #writesInFlight = 0;
  #refillScheduled = false;
  /** A debounced push is due and waits for the queue of the last one to empty. */
  #pushWhenQueued = false;
  /** A proxy came back with a config during the warm-up: pushes wait for the warm-up to end. */
  #warmupHold = false;

  constructor(options: DiscoveryOptions) {
    this.#o = options;
    this.#warmUntil = Date.now() + (options.warmupMs ?? 0);
    options.store.on('change', () => {
      this.#invalidate();
      this.schedulePush(options.store.lastChange);
    });
    options.registry.on('change', () => {
      this.#invalidate();
      this.#registryChanged = true;
      this.schedulePush(Date.now());
    });
  }

  #invalidate(): void {
    this.#translation = undefined;
    this.#currentStale = true;
  }

  /** Recomputes every connected proxy's snapshot after the debounce; sends those that changed. */
  schedulePush(changeAt: number): void {
    if (this.#closed) return;
    const now = Date.now();
    this.#pendingChangeAt = Math.min(this.#pendingChangeAt ?? changeAt, changeAt);
    this.#pendingSince ??= now;
    // A true debounce: wait for debounceMs without news, but never longer than debounceMaxMs after the
    // first change, so a storm of (re)connecting proxies costs one push rather than one per window.
    const maxMs = this.#o.debounceMaxMs ?? this.#o.debounceMs * 10;
    const holdUntil = this.#warmupHold ? this.#warmUntil : 0;
    const fireAt = Math.max(Math.min(now + this.#o.debounceMs, this.#pendingSince + maxMs), holdUntil);
    if (this.#timer) {
      if (fireAt === this.#fireAt) return;
      clearTimeout(this.#timer);
    }
    this.#fireAt = fireAt;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        // While the last push is still queued, its queue already sends each proxy its latest snapshot;
        // the next push starts when every queued proxy has had its turn (natural backpressure).
        if (this.#queue.size + this.#firstQueue.size > 0) this.#pushWhenQueued = true;
        else this.#firePending();
      },
      Math.max(0, fireAt - now),
    );
  }

  #firePending(): void {
    this.#pushWhenQueued = false;
    const at = this.#pendingChangeAt ?? Date.now();
    this.#pendingChangeAt = undefined;
    this.#pendingSince = undefined;
    this.pushAll(at);
  }

  pushAll(changeAt: number): void {
    const started = performance.now();
    if (this.#registryChanged) this.#forgetGone();
    let queued = 0;
    for (const state of this.#proxies.values()) {
      if (!state.stream) continue;
      if (this.#pushTo(state, this.#snapshotFor(state.node), changeAt)) queued++;
    }
    this.#currentStale = false;
    if (queued > 0)
      this.#o.logger.info(
        {
          proxies: queued,
          ms: Math.round(performance.now() - started),
          sinceChangeMs: Date.now() - changeAt,
        },
        'push started',
      );
  }

  /** Recomputes what each connected proxy should run, so status is honest while a push is pending. */
  #refreshCurrent(): void {
    if (!this.#currentStale) return;
    for (const state of this.#proxies.values())
      if (state.stream) state.current = this.#snapshotFor(state.node);
    this.#currentStale = false;
  }

  /** Translation for one proxy, sharing the outbound part with every proxy translated since the last change. */
  #snapshotFor(node: NodeInfo): VersionedSnapshot {
    this.#translation ??= new SharedTranslation(
      indexMesh({ resources: this.#o.store.resources, proxies: this.#o.registry.nodes() }),
    );
    return snapshotFor(this.#translation.index, node, this.#translation);
  }

  /**
   * Makes `snapshot` the proxy's wanted one and queues a push unless it already has it; true if queued.
   * A proxy's first snapshot goes ahead of updates to proxies that already run one.
   */
  #pushTo(state: ProxyState, snapshot: VersionedSnapshot, changeAt: number): boolean {
    state.current = snapshot;
    if (!state.stream || state.sent?.version === snapshot.version) return false;
    const queue = state.sent === undefined ? this.#firstQueue : this.#queue;
    const earlier = queue.get(state);
    queue.set(state, earlier === undefined ? changeAt : Math.min(earlier, changeAt));
    this.#sendQueued();
    return true;
  }

  /** Sends queued pushes while push slots are free, first snapshots first. */
  #sendQueued(): void {
    const limit = Math.max(1, this.#o.pushConcurrency ?? 100);
    for (const queue of [this.#firstQueue, this.#queue])
      for (const [state, changeAt] of queue) {
        if (this.#writesInFlight >= limit) return;
        queue.delete(state);
        this.#send(state, changeAt);
      }
    if (this.#pushWhenQueued && !this.#timer && !this.#closed)
      setImmediate(() => {
        if (this.#pushWhenQueued && !this.#timer && !this.#closed) this.#firePending();
      });
  }

  /** Writes the proxy's wanted snapshot (if still new to it) and holds a push slot until the kernel has it. */
  #send(state: ProxyState, changeAt: number): void {
    const snapshot = state.current;
    const stream = state.stream;
    if (!stream || !snapshot || state.sent?.version === snapshot.version) return;
    const nonce = `${this.#nonceSalt}-${++this.#nonce}`;
    this.#countPush(state.sent?.snapshot, snapshot);
    state.sent = { version: snapshot.version, nonce, at: Date.now(), changeAt, snapshot };
    this.#writesInFlight++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.#writesInFlight--;
      if (state.releaseWrite === release) state.releaseWrite = undefined;
      if (this.#queue.size + this.#firstQueue.size > 0 && !this.#refillScheduled) {
        this.#refillScheduled = true;
        setImmediate(() => {
          this.#refillScheduled = false;
          if (!this.#closed) this.#sendQueued();
        });
      }
    };
    state.releaseWrite = release;
    // The big shared pieces are encoded once for all proxies that share them and written as they are.
    writeSnapshotLine(stream, nonce, snapshot, release);
    this.#o.logger.debug({ proxy: state.node.id, version: snapshot.version, nonce }, 'snapshot pushed');
  }

  /** Counts the push under istiod's xDS types for the parts that changed. */
  #countPush(previous: VersionedSnapshot | undefined, next: VersionedSnapshot): void {
    const before = previous ? pushParts(previous) : undefined;
    const after = pushParts(next);
    for (const type of ['lds', 'rds', 'cds', 'eds'] as const)
      if (!before || before[type] !== after[type]) this.#o.telemetry.pushes.inc({ type });
  }

  /** POST /v1/discovery: validates the node, registers it and keeps the response open as the stream. */
  openStream(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const request = body as { node?: unknown; version?: unknown } | null;
    const parsed = NodeInfoSchema.safeParse(request?.node);
    if (!parsed.success) {
      throw new StraitError(
        Errors.BAD_REQUEST,
        `node: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      );
    }
    const node = parsed.data;
    const runningVersion = typeof request?.version === 'string' ? request.version : undefined;
    const previous = this.#proxies.get(node.id);
    if (previous?.stream) {
      if (previous.node.address !== node.address)
        this.#o.logger.warn(
          { proxy: node.id, old: previous.node.address, new: node.address },
          'two proxies use the same id; the newer connection replaces the older (give each proxy its own --id)',
        );
      this.#closeStream(previous);
    }

    const state: ProxyState = previous ?? { node };
    state.node = node;
    state.stream = res;
    state.connectedSince = Date.now();
    state.sent = undefined;
    this.#proxies.set(node.id, state);

    req.socket.setKeepAlive(true, 5000);
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    // The stream is answered now; its first snapshot may wait its turn for a push slot.
    res.flushHeaders();

    this.#o.registry.connect(node);
    this.#o.telemetry.connected.set(this.connectedCount());
    this.#arrive({ state, stream: res, runningVersion });

    const period = this.#o.heartbeatMs ?? HEARTBEAT_INTERVAL_MS;
    state.heartbeat = setInterval(() => this.#heartbeat(state), period);
    const onClose = () => {
      if (state.stream !== res) return;
      this.#closeStream(state);
      this.#o.registry.disconnect(node.id);
      this.#o.telemetry.connected.set(this.connectedCount());
      this.#o.logger.info({ proxy: node.id }, 'proxy disconnected');
    };
    res.on('close', onClose);
    req.on('close', () => {
      if (res.writableEnded || res.destroyed) onClose();
    });
    this.#o.logger.info({ proxy: node.id, role: node.role, workload: node.workload }, 'proxy connected');
  }

  /**
   * Queues a new stream for its first snapshot. Streams that open in the same turn of the event loop
   * are answered together, so a crowd of (re)connecting proxies costs one translation, not one each.
   */
  #arrive(arrival: Arrival): void {
    this.#arrivals.push(arrival);
    if (this.#arrivals.length === 1) setImmediate(() => this.#welcomeArrivals());
  }

  #welcomeArrivals(): void {
    const arrivals = this.#arrivals.splice(0);
    if (this.#closed) return;
    for (const { state, stream, runningVersion } of arrivals)
      if (state.stream === stream) this.#welcome(state, runningVersion);
  }

  /** The first answer on a new stream: the snapshot, unless the proxy already runs it. */
  #welcome(state: ProxyState, runningVersion: string | undefined): void {
    const snapshot = this.#snapshotFor(state.node);
    const now = Date.now();
    state.current = snapshot;
    if (runningVersion !== undefined) {
      // A reconnect: what the proxy runs counts as sent and ACKed, so it is only re-sent if it differs.
      const same = runningVersion === snapshot.version;
      state.sent = {
        version: runningVersion,
        nonce: '',
        at: now,
        changeAt: now,
        ...(same ? { snapshot } : {}),
      };
      state.acked = { version: runningVersion, nonce: '', at: now };
    }
    if (runningVersion !== undefined && now < this.#warmUntil) {
      // Just restarted: wait for the other proxies to come back before pushing (see warmupMs).
      this.#warmupHold = true;
      this.#heartbeat(state);
      this.schedulePush(now);
    } else if (runningVersion === snapshot.version) {
      this.#heartbeat(state);
    } else {
      this.#pushTo(state, snapshot, now);
    }
  }

  #heartbeat(state: ProxyState): void {
    const stream = state.stream;
    if (!stream) return;
    // A peer that stopped reading (dead host, frozen process) leaves our writes unflushed: after
    // HEARTBEAT_DEAD_AFTER_MS of that, the stream is taken as dead.
    if (stream.writableLength > 0) {
      state.unflushedSince ??= Date.now();
      if (Date.now() - state.unflushedSince >= (this.#o.heartbeatMs ?? HEARTBEAT_INTERVAL_MS) * 3) {
        this.#o.logger.warn({ proxy: state.node.id }, 'discovery stream stopped draining; closing it');
        stream.destroy();
        return;
      }
    } else state.unflushedSince = undefined;
    const message: DiscoveryMessage = { type: 'heartbeat', time: Date.now() };
    stream.write(`${JSON.stringify(message)}\n`);
  }

  #closeStream(state: ProxyState): void {
    this.#queue.delete(state);
    this.#firstQueue.delete(state);
    state.releaseWrite?.();
    if (this.#pushWhenQueued && !this.#closed) this.#sendQueued();
    if (state.heartbeat) clearInterval(state.heartbeat);
    state.heartbeat = undefined;
    const stream = state.stream;
    state.stream = undefined;
    if (stream && !stream.writableEnded) stream.end();
  }

  /** POST /v1/discovery/ack. Returns false for a nonce that is no longer current (ignored). */
  receiveAck(body: unknown): { current: boolean } {
    const ack = body as {
      nodeId?: unknown;
      type?: unknown;
      nonce?: unknown;
      version?: unknown;
      error?: unknown;
      keptVersion?: unknown;
    } | null;
    if (
      !ack ||
      typeof ack.nodeId !== 'string' ||
      (ack.type !== 'ack' && ack.type !== 'nack') ||
      typeof ack.nonce !== 'string'
    )
      throw new StraitError(Errors.BAD_REQUEST, 'expected { nodeId, type: "ack" | "nack", nonce, ... }');
    const state = this.#proxies.get(ack.nodeId);
    if (!state) throw new StraitError(Errors.NOT_FOUND, `no proxy "${ack.nodeId}" is connected`);
    const sent = state.sent;
    if (!sent || sent.nonce !== ack.nonce) return { current: false };
    const now = Date.now();
    state.pushLatencyMs = now - sent.at;
    if (ack.type === 'ack') {
      state.acked = {
        version: typeof ack.version === 'string' ? ack.version : sent.version,
        nonce: ack.nonce,
        at: now,
      };
      this.#o.telemetry.convergence.observe((now - sent.changeAt) / 1000);
    } else {
      const error = typeof ack.error === 'string' ? ack.error : 'no error given';
      const keptVersion = typeof ack.keptVersion === 'string' ? ack.keptVersion : '';
      state.nack = { version: sent.version, nonce: ack.nonce, error, keptVersion, at: now };
      this.#o.telemetry.rejects.inc();
      this.#o.logger.warn({ proxy: ack.nodeId, version: sent.version, error }, 'snapshot NACKed');
    }
    return { current: true };
  }

  connectedCount(): number {
    let n = 0;
    for (const s of this.#proxies.values()) if (s.stream) n++;
    return n;
  }

  /** Connected proxies' descriptions (for Prometheus discovery). */
  connectedNodes(): NodeInfo[] {
    return [...this.#proxies.values()].filter((s) => s.stream).map((s) => s.node);
  }

  /** The snapshot the control plane currently wants this proxy to run. */
  snapshotOf(id: string): VersionedSnapshot | undefined {
    this.#refreshCurrent();
    const state = this.#proxies.get(id);
    if (state) return state.current ?? this.#snapshotFor(state.node);
    const node = this.#o.registry.nodes().find((n) => n.id === id);
    return node ? this.#snapshotFor(node) : undefined;
  }

  status(): ProxyStatus[] {
    this.#refreshCurrent();
    const out: ProxyStatus[] = [];
    for (const s of [...this.#proxies.values()].sort((a, b) => a.node.id.localeCompare(b.node.id))) {
      const n = s.node;
      const current = s.current?.version ?? s.sent?.version;
      let status: SyncStatus = 'STALE';
      if (s.nack && s.sent && s.nack.nonce === s.sent.nonce && s.acked?.version !== current)
        status = 'NACKED';
      else if (s.stream && current !== undefined && s.acked?.version === current) status = 'SYNCED';
      const entry: ProxyStatus = {
        id: n.id,
        role: n.role,
        workload: n.workload,
        namespace: n.namespace ?? 'default',
        connected: s.stream !== undefined,
        status,
      };
      if (n.service) entry.service = n.service;
      if (n.version) entry.version = n.version;
      if (n.address) entry.address = n.address;
      if (n.statsAddress) entry.statsAddress = n.statsAddress;
      if (s.connectedSince) entry.connectedSince = new Date(s.connectedSince).toISOString();
      if (current) entry.currentVersion = current;
      if (s.sent) entry.sentVersion = s.sent.version;
      if (s.acked) {
        entry.ackedVersion = s.acked.version;
        entry.ackedAt = new Date(s.acked.at).toISOString();
      }
      if (s.nack) entry.lastNack = { ...s.nack, at: new Date(s.nack.at).toISOString() };
      if (s.pushLatencyMs !== undefined) entry.lastPushLatencyMs = s.pushLatencyMs;
      out.push(entry);
    }
    return out;
  }

  /** Drops bookkeeping for proxies that are neither connected nor registered any more. */
  #forgetGone(): void {
    this.#registryChanged = false;
    const registered = new Set(this.#o.registry.nodes().map((n) => n.id));
    for (const [id, state] of this.#proxies)
      if (!state.stream && !registered.has(id)) this.#proxies.delete(id);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const state of this.#proxies.values()) this.#closeStream(state);
  }
}

/**
 * Fingerprints of a snapshot's parts under istiod's xDS types, for counting what a push changed. Plain
 * JSON is enough here: translation builds objects in a fixed key order, and a metric is all it feeds.
 */
interface PushParts {
  lds: string;
  rds: string;
  cds: string;
  eds: string;
}

const partsOfSnapshot = new WeakMap<object, PushParts>();
const digestsOfObject = new WeakMap<object, Map<string, string>>();

/** A digest of one view of `object`, remembered for as long as the object lives (shared objects hash once). */
function digestOf(object: object, view: string, text: () => string): string {
  let views = digestsOfObject.get(object);
  if (!views) {
    views = new Map();
    digestsOfObject.set(object, views);
  }
  let digest = views.get(view);
  if (digest === undefined) {
    digest = createHash('sha1').update(text()).digest('base64');
    views.set(view, digest);
  }
  return digest;
}

function pushParts(s: VersionedSnapshot): PushParts {
  let parts = partsOfSnapshot.get(s);
  if (!parts) {
    const egress = s.egress;
    parts = {
      lds: [
        ...s.listeners.map((l) =>
          digestOf(l, 'lds', () => JSON.stringify({ ...l, virtualHosts: undefined })),
        ),
        egress ? digestOf(egress, 'lds', () => JSON.stringify(egress)) : '',
      ].join(' '),
      rds: s.listeners.map((l) => digestOf(l, 'rds', () => JSON.stringify(l.virtualHosts))).join(' '),
      cds: s.clusters
        .map((c) => digestOf(c, 'cds', () => JSON.stringify({ ...c, endpoints: undefined })))
        .join(' '),
      eds: s.clusters.map((c) => digestOf(c, 'eds', () => JSON.stringify(c.endpoints))).join(' '),
    };
    partsOfSnapshot.set(s, parts);
  }
  return parts;
}
