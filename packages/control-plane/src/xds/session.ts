// One proxy's discovery stream: heartbeats and liveness, the resources the proxy holds, and the ACK/NACK
// bookkeeping. It sends one delta at a time (the next waits for the answer, as istiod does with flow
// control), computed against what the proxy holds; a NACK leaves that as it was, and an answer that never
// comes, or a NACK that shows the proxy holds something else, makes the next message the full state.
import type { ServerResponse } from 'node:http';
import {
  type AckMessage,
  type DiscoveryMessage,
  discoveryKey,
  type NodeInfo,
  type RejectedResource,
  type ResourceVersion,
  resourceDelta,
  versionOfResources,
  XDS_METRIC_TYPE,
  type XdsMetricType,
} from '@strait/api';
import type { Logger } from 'pino';
import type { ProxyConfig } from './cache.ts';
import type { PushMetrics } from './push-metrics.ts';
import { deltaLine, encodedResource, lineBytes, writeLine } from './wire.ts';

/** What the control plane knows of one proxy's sync state; it outlives the proxy's streams. */
export interface SyncLedger {
  sent?: { version: string; nonce: string; at: number };
  acked?: { version: string; nonce: string; at: number };
  nack?: {
    version: string;
    nonce: string;
    error: string;
    keptVersion: string;
    at: number;
    resources?: RejectedResource[];
  };
  /** From the last message sent to its answer, ms. */
  pushLatencyMs?: number;
}

export interface StreamSessionOptions {
  node: NodeInfo;
  stream: ServerResponse;
  ledger: SyncLedger;
  /** What the proxy said it holds when it opened the stream. */
  held?: readonly ResourceVersion[];
  heartbeatMs: number;
  /** An unanswered message is given up after this long; the next message is then the full state. */
  ackTimeoutMs: number;
  metrics: PushMetrics;
  logger: Logger;
  nonce: () => string;
  /** Called after an answer (or its timeout) when the session can send again. */
  onIdle: (session: StreamSession) => void;
}

interface InFlight {
  nonce: string;
  version: string;
  /** What the proxy holds once it applies the message. */
  next: Map<string, string>;
  /** The earliest change the message carries. */
  changeAt: number;
  sentAt: number;
  types: XdsMetricType[];
  timer: NodeJS.Timeout;
}

/** Nonces whose types are remembered for answers that come late. */
const RECENT_NONCES = 8;

export class StreamSession {
  readonly node: NodeInfo;
  readonly stream: ServerResponse;
  readonly connectedSince = Date.now();
  readonly #o: StreamSessionOptions;
  /** What the proxy holds: key -> version. */
  #held: Map<string, string>;
  #heldVersion: string | undefined;
  #inFlight: InFlight | undefined;
  /** The next message lists everything (the proxy's holdings are unknown). */
  #needsFull = false;
  /** The version the proxy last refused: not sent again until the wanted config changes. */
  #refused: string | undefined;
  /** What the proxy should run, as of the last push that looked at it (or its welcome). */
  #wanted: ProxyConfig | undefined;
  /** The earliest change that came while a message was in flight (it is pushed after the answer). */
  #pendingChangeAt: number | undefined;
  readonly #recentTypes = new Map<string, XdsMetricType[]>();
  readonly #heartbeat: NodeJS.Timeout;
  #unflushedSince: number | undefined;
  /** Frees the push-window slot of a write that has not reached the kernel. */
  #releaseWrite: (() => void) | undefined;
  #closed = false;

  constructor(options: StreamSessionOptions) {
    this.#o = options;
    this.node = options.node;
    this.stream = options.stream;
    const held = options.held ?? [];
    this.#held = new Map(held.map((r) => [discoveryKey(r), r.version]));
    this.#heldVersion = held.length > 0 ? versionOfResources(held) : undefined;
    if (this.#heldVersion !== undefined) {
      // A reconnect: what the proxy holds counts as sent and ACKed, so only what differs is sent.
      const now = Date.now();
      options.ledger.sent = { version: this.#heldVersion, nonce: '', at: now };
      options.ledger.acked = { version: this.#heldVersion, nonce: '', at: now };
    } else delete options.ledger.sent;
    this.#heartbeat = setInterval(() => this.heartbeat(), options.heartbeatMs);
  }

  /** The version of what the proxy holds, as far as this session knows. */
  get heldVersion(): string | undefined {
    return this.#heldVersion;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** What the proxy should run, as of the last push that looked at it. */
  get wanted(): ProxyConfig | undefined {
    return this.#wanted;
  }

  /**
   * Sets what the proxy should run; true if that is to be pushed (with a message in flight: once it is
   * answered). A queued proxy is sent whatever it wants when its turn comes, so it always gets the latest.
   */
  want(config: ProxyConfig): boolean {
    this.#wanted = config;
    return this.needsPush();
  }

  /** Whether what the proxy should run is to be pushed. */
  needsPush(): boolean {
    const wanted = this.#wanted;
    if (this.#closed || !wanted) return false;
    if (this.#inFlight) return true;
    if (wanted.version === this.#refused) return false;
    return this.#needsFull || wanted.version !== this.#heldVersion;
  }

  /** The earliest change that waited for the message in flight to be answered, once. */
  takePendingChange(): number | undefined {
    const at = this.#pendingChangeAt;
    this.#pendingChangeAt = undefined;
    return at;
  }

  /**
   * Sends what takes the proxy from what it holds to what it wants. Returns a promise that settles when
   * the kernel has the message (the push window's slot), or undefined when nothing was written.
   */
  push(changeAt: number, turnAt = performance.now()): Promise<void> | undefined {
    const wanted = this.#wanted;
    if (this.#closed || !wanted) return undefined;
    if (this.#inFlight) {
      this.#pendingChangeAt = Math.min(this.#pendingChangeAt ?? changeAt, changeAt);
      return undefined;
    }
    if (!this.needsPush()) return undefined;
    const full = this.#needsFull || this.#heldVersion === undefined;
    const delta = full
      ? { resources: [...wanted.resources], removed: [] }
      : resourceDelta(this.#held, wanted.resources);
    const next = full ? new Map<string, string>() : new Map(this.#held);
    for (const ref of delta.removed) next.delete(discoveryKey(ref));
    const bytesByType = new Map<XdsMetricType, number>();
    for (const r of delta.resources) {
      next.set(discoveryKey(r), r.version);
      const type = XDS_METRIC_TYPE[r.type];
      bytesByType.set(type, (bytesByType.get(type) ?? 0) + encodedResource(r).length);
    }
    for (const ref of delta.removed) {
      const type = XDS_METRIC_TYPE[ref.type];
      bytesByType.set(type, bytesByType.get(type) ?? 0);
    }
    const nonce = this.#o.nonce();
    const pieces = deltaLine({ version: wanted.version, nonce, ...(full ? { full } : {}), ...delta });
    const now = Date.now();
    const types = [...bytesByType.keys()];
    this.#remember(nonce, types);
    this.#inFlight = {
      nonce,
      version: wanted.version,
      next,
      changeAt,
      sentAt: now,
      types,
      timer: setTimeout(() => this.#answerTimedOut(nonce), this.#o.ackTimeoutMs),
    };
    this.#needsFull = false;
    this.#o.ledger.sent = { version: wanted.version, nonce, at: now };
    const writeAt = performance.now();
    return new Promise<void>((resolve) => {
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        this.#releaseWrite = undefined;
        resolve();
      };
      this.#releaseWrite = release;
      writeLine(this.stream, pieces, (err) => {
        if (!err) this.#o.metrics.sent({ bytesByType, turnAt, writeAt, writtenAt: performance.now() });
        release();
      });
      this.#o.logger.debug(
        { proxy: this.node.id, version: wanted.version, nonce, bytes: lineBytes(pieces), full },
        'delta pushed',
      );
    });
  }

  /** An ACK or NACK from the proxy. `current` is false for a nonce that is not the one awaited. */
  answer(ack: AckMessage): { current: boolean } {
    const inFlight = this.#inFlight;
    if (!inFlight || ack.nonce !== inFlight.nonce) {
      this.#o.metrics.expiredNonce(this.#recentTypes.get(ack.nonce) ?? []);
      return { current: false };
    }
    clearTimeout(inFlight.timer);
    this.#inFlight = undefined;
    const now = Date.now();
    const ledger = this.#o.ledger;
    ledger.pushLatencyMs = now - inFlight.sentAt;
    if (ack.type === 'ack') {
      this.#held = inFlight.next;
      this.#heldVersion = inFlight.version;
      this.#refused = undefined;
      ledger.acked = { version: inFlight.version, nonce: ack.nonce, at: now };
      this.#o.metrics.acked((now - inFlight.changeAt) / 1000);
    } else {
      this.#refused = inFlight.version;
      ledger.nack = {
        version: inFlight.version,
        nonce: ack.nonce,
        error: ack.error,
        keptVersion: ack.keptVersion,
        at: now,
        ...(ack.rejected ? { resources: ack.rejected } : {}),
      };
      this.#o.metrics.rejected(ack.rejected?.map((r) => XDS_METRIC_TYPE[r.type]) ?? inFlight.types);
      // The proxy keeps what it had; if that is not what we think it holds, say everything next time.
      if (ack.keptVersion !== this.#heldVersion) this.#needsFull = true;
      this.#o.logger.warn(
        {
          proxy: this.node.id,
          version: inFlight.version,
          error: ack.error,
          rejected: ack.rejected?.map((r) => `${r.type}/${r.name}`),
        },
        'delta NACKed',
      );
    }
    this.#o.onIdle(this);
    return { current: true };
  }

  #answerTimedOut(nonce: string): void {
    if (this.#inFlight?.nonce !== nonce) return;
    this.#o.logger.warn(
      { proxy: this.node.id, nonce, afterMs: this.#o.ackTimeoutMs },
      'no ACK or NACK came; the next message will be the full state',
    );
    this.#inFlight = undefined;
    this.#needsFull = true;
    this.#o.onIdle(this);
  }

  #remember(nonce: string, types: XdsMetricType[]): void {
    this.#recentTypes.set(nonce, types);
    if (this.#recentTypes.size > RECENT_NONCES) {
      const oldest = this.#recentTypes.keys().next().value;
      if (oldest !== undefined) this.#recentTypes.delete(oldest);
    }
  }

  /**
   * Writes a heartbeat. A peer that stopped reading (dead host, frozen process) leaves our writes unflushed:
   * after three heartbeat periods of that, the stream is taken as dead and closed.
   */
  heartbeat(): void {
    if (this.#closed) return;
    const stream = this.stream;
    if (stream.writableLength > 0) {
      this.#unflushedSince ??= Date.now();
      if (Date.now() - this.#unflushedSince >= this.#o.heartbeatMs * 3) {
        this.#o.logger.warn({ proxy: this.node.id }, 'discovery stream stopped draining; closing it');
        this.#o.metrics.writeTimeout();
        stream.destroy();
        return;
      }
    } else this.#unflushedSince = undefined;
    const message: DiscoveryMessage = { type: 'heartbeat', time: Date.now() };
    stream.write(`${JSON.stringify(message)}\n`);
  }

  /** Stops heartbeats and timers, frees the push slot and ends the stream. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    if (this.#inFlight) clearTimeout(this.#inFlight.timer);
    this.#inFlight = undefined;
    this.#releaseWrite?.();
    if (!this.stream.writableEnded) this.stream.end();
  }
}
