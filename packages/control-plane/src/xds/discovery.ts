// The discovery service: one long-lived NDJSON stream per proxy (POST /v1/discovery), snapshots pushed
// at once and after every relevant change (debounced), heartbeats, and ACK/NACK bookkeeping per proxy.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  canonicalJson,
  type DiscoveryMessage,
  Errors,
  HEARTBEAT_INTERVAL_MS,
  type NodeInfo,
  NodeInfoSchema,
  StraitError,
} from '@strait/api';
import type { Logger } from 'pino';
import type { ConfigStore } from '../config/store.ts';
import type { Registry } from '../registry/registry.ts';
import type { ControlPlaneTelemetry } from '../telemetry/metrics.ts';
import { indexMesh } from '../translate/mesh-index.ts';
import { snapshotFor, type VersionedSnapshot } from '../translate/snapshot.ts';

export type SyncStatus = 'SYNCED' | 'STALE' | 'NACKED';

/** What `GET /v1/proxies` reports for one proxy. */
export interface ProxyStatus {
  id: string;
  role: string;
  workload: string;
  namespace: string;
  service?: string;
  version?: string;
  address?: string;
  statsAddress?: string;
  connected: boolean;
  connectedSince?: string;
  /** The version the control plane wants this proxy to run. */
  currentVersion?: string;
  sentVersion?: string;
  ackedVersion?: string;
  ackedAt?: string;
  lastNack?: { version: string; nonce: string; error: string; keptVersion: string; at: string };
  lastPushLatencyMs?: number;
  status: SyncStatus;
}

interface Sent {
  version: string;
  nonce: string;
  at: number;
  changeAt: number;
  /** Absent when the proxy brought its version along on reconnect and we never saw its content. */
  snapshot?: VersionedSnapshot;
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
}

export interface DiscoveryOptions {
  store: ConfigStore;
  registry: Registry;
  telemetry: ControlPlaneTelemetry;
  logger: Logger;
  debounceMs: number;
  heartbeatMs?: number;
  /**
   * After start, hold pushes to proxies that reconnect with a config already running, until this many
   * ms have passed, so a restarted control plane does not push half-registered endpoint lists. Default 0.
   */
  warmupMs?: number;
}

export class DiscoveryService {
  readonly #o: DiscoveryOptions;
  readonly #proxies = new Map<string, ProxyState>();
  #timer: NodeJS.Timeout | undefined;
  #pendingChangeAt: number | undefined;
  #nonce = 0;
  readonly #nonceSalt = randomBytes(3).toString('hex');
  #closed = false;
  readonly #warmUntil: number;

  constructor(options: DiscoveryOptions) {
    this.#o = options;
    this.#warmUntil = Date.now() + (options.warmupMs ?? 0);
    options.store.on('change', () => this.schedulePush(options.store.lastChange));
    options.registry.on('change', () => {
      this.#forgetGone();
      this.schedulePush(Date.now());
    });
  }

  /** Recomputes every connected proxy's snapshot after the debounce; sends those that changed. */
  schedulePush(changeAt: number): void {
    if (this.#closed) return;
    this.#refreshCurrent();
    this.#pendingChangeAt = Math.min(this.#pendingChangeAt ?? changeAt, changeAt);
    if (this.#timer) return;
    const delay = Math.max(this.#o.debounceMs, this.#warmUntil - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const at = this.#pendingChangeAt ?? Date.now();
      this.#pendingChangeAt = undefined;
      this.pushAll(at);
    }, delay);
  }

  pushAll(changeAt: number): void {
    const index = this.#index();
    for (const state of this.#proxies.values()) {
      if (!state.stream) continue;
      this.#pushTo(state, snapshotFor(index, state.node), changeAt);
    }
  }

  /** Recomputes what each connected proxy should run, so status is honest while a push is pending. */
  #refreshCurrent(): void {
    const index = this.#index();
    for (const state of this.#proxies.values())
      if (state.stream) state.current = snapshotFor(index, state.node);
  }

  #index() {
    return indexMesh({ resources: this.#o.store.resources, proxies: this.#o.registry.nodes() });
  }

  #pushTo(state: ProxyState, snapshot: VersionedSnapshot, changeAt: number): void {
    state.current = snapshot;
    if (!state.stream || state.sent?.version === snapshot.version) return;
    const nonce = `${this.#nonceSalt}-${++this.#nonce}`;
    const message: DiscoveryMessage = { type: 'snapshot', version: snapshot.version, nonce, snapshot };
    this.#countPush(state.sent?.snapshot, snapshot);
    state.sent = { version: snapshot.version, nonce, at: Date.now(), changeAt, snapshot };
    state.stream.write(`${JSON.stringify(message)}\n`);
    this.#o.logger.debug({ proxy: state.node.id, version: snapshot.version, nonce }, 'snapshot pushed');
  }

  /** Counts the push under istiod's xDS types for the parts that changed. */
  #countPush(previous: VersionedSnapshot | undefined, next: VersionedSnapshot): void {
    const parts = (s: VersionedSnapshot | undefined) => ({
      lds: canonicalJson([s?.listeners.map((l) => ({ ...l, virtualHosts: undefined })), s?.egress]),
      rds: canonicalJson(s?.listeners.map((l) => l.virtualHosts)),
      cds: canonicalJson(s?.clusters.map((c) => ({ ...c, endpoints: undefined }))),
      eds: canonicalJson(s?.clusters.map((c) => c.endpoints)),
    });
    const before = parts(previous);
    const after = parts(next);
    for (const type of ['lds', 'rds', 'cds', 'eds'] as const)
      if (!previous || before[type] !== after[type]) this.#o.telemetry.pushes.inc({ type });
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

    this.#o.registry.connect(node);
    this.#o.telemetry.connected.set(this.connectedCount());

    const snapshot = snapshotFor(this.#index(), node);
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
      this.#heartbeat(state);
      this.schedulePush(now);
    } else if (runningVersion === snapshot.version) {
      this.#heartbeat(state);
    } else {
      this.#pushTo(state, snapshot, now);
    }
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
    const state = this.#proxies.get(id);
    if (state) return state.current ?? snapshotFor(this.#index(), state.node);
    const node = this.#o.registry.nodes().find((n) => n.id === id);
    return node ? snapshotFor(this.#index(), node) : undefined;
  }

  status(): ProxyStatus[] {
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
