// The proxy's side of the discovery protocol (docs/architecture.md, "The push protocol"): holds one long-lived
// stream to a control-plane replica, applies each delta all-or-nothing, answers ACK/NACK per delta naming the
// resources at fault, and when the stream drops fails over to the next replica with jittered backoff, telling
// it what it still holds (so an unchanged config is ACKed again without being applied again).
import {
  type AckMessage,
  ApiPaths,
  type DeltaMessage,
  type DiscoveryMessage,
  type DiscoveryRequest,
  deltaMessageIssues,
  describeIssues,
  discoveryMessageIssues,
  HEARTBEAT_DEAD_AFTER_MS,
  LineSplitter,
  REPLICA_HEADER,
} from '@strait/api';
import { nextBackoffMs } from './backoff.ts';
import { ControlPlaneAgent } from './control-plane-agent.ts';
import { ControlPlaneEndpoints, type ControlPlaneTarget, describeTarget, placeOf } from './endpoints.ts';
import { type RefusedDelta, ResourceState, resourcesNamedBy } from './resource-state.ts';
import type { DiscoveryClientOptions, DiscoveryCounters, DiscoveryStatus } from './types.ts';

export type { DiscoveryClientOptions, DiscoveryCounters, DiscoveryStatus } from './types.ts';

type StatusListener = (status: DiscoveryStatus) => void;

const DEFAULT_BACKOFF = { initialMs: 200, maxMs: 10_000 };

/** Why one stream ended; decides whether the backoff is reset. */
interface StreamOutcome {
  /** The stream opened and delivered at least one message. */
  healthy: boolean;
}

export class DiscoveryClient {
  readonly #opts: DiscoveryClientOptions;
  readonly #endpoints: ControlPlaneEndpoints;
  /** The replica of the current (or last) stream; ACKs go there. */
  #target: ControlPlaneTarget | undefined;
  readonly #cp: ControlPlaneAgent;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #deadAfterMs: number;
  readonly #requestTimeoutMs: number;
  readonly #maxMessageBytes: number;
  readonly #listeners: StatusListener[] = [];
  readonly #counters: DiscoveryCounters = {
    streamsOpened: 0,
    connectFailures: 0,
    bytesReceived: 0,
    bytesSent: 0,
  };
  #state: ResourceState;
  #status: DiscoveryStatus;
  #everConnected = false;
  #started = false;
  #stopped = false;
  #loop: Promise<void> | undefined;
  /** Aborts the current stream (stop, or the heartbeat watchdog). */
  #streamAbort: AbortController | undefined;
  /** Wakes the backoff sleep early on stop. */
  #sleepAbort: AbortController | undefined;

  constructor(opts: DiscoveryClientOptions) {
    this.#opts = opts;
    const first = opts.firstReplica ?? (() => placeOf(opts.node.id));
    this.#endpoints = new ControlPlaneEndpoints(opts.urls, undefined, first);
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.#deadAfterMs = opts.heartbeatDeadAfterMs ?? HEARTBEAT_DEAD_AFTER_MS;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.#maxMessageBytes = opts.maxMessageBytes ?? 64 * 1024 * 1024;
    this.#cp = new ControlPlaneAgent(this.#requestTimeoutMs, opts.identity);
    this.#state = opts.initial ? ResourceState.fromSnapshot(opts.initial) : new ResourceState();
    this.#status = {
      connected: false,
      stale: opts.initial !== undefined,
      version: opts.initial?.version,
      reconnects: 0,
    };
  }

  /** A copy of the connection counters (for the proxy's `xds-grpc` stats). */
  get counters(): DiscoveryCounters {
    return { ...this.#counters };
  }

  /** A copy of the current status. */
  get status(): DiscoveryStatus {
    return { ...this.#status };
  }

  /** Calls `fn` with the new status on every change (connect, disconnect, ACK, NACK). */
  onStatus(fn: StatusListener): void {
    this.#listeners.push(fn);
  }

  /** Starts the stream loop in the background. Never throws; problems are logged and retried. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#loop = this.#run().catch((err: unknown) => {
      // #run handles its own errors; this is a last guard so nothing escapes as an unhandled rejection.
      this.#opts.logger.error({ err }, 'discovery loop stopped unexpectedly');
    });
  }

  /** Closes the stream, stops reconnecting and releases the agent's connections. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#opts.identity?.stop();
    this.#streamAbort?.abort();
    this.#sleepAbort?.abort();
    await this.#loop;
    await this.#cp.close();
  }

  async #run(): Promise<void> {
    const log = this.#opts.logger;
    let attempt = 0;
    while (!this.#stopped) {
      let outcome: StreamOutcome = { healthy: false };
      try {
        outcome = await this.#streamOnce();
      } catch (err) {
        if (!this.#stopped) log.warn({ err: errorText(err) }, 'discovery stream failed');
      }
      if (this.#stopped) break;
      this.#update({ connected: false, stale: this.#everConnected || this.#status.version !== undefined });
      if (outcome.healthy) attempt = 0;
      const delay = nextBackoffMs(attempt, this.#backoff);
      attempt += 1;
      log.info({ delayMs: Math.round(delay), attempt }, 'reconnecting to the control plane');
      await this.#sleep(delay);
      if (this.#stopped) break;
      this.#update({ reconnects: this.#status.reconnects + 1 });
    }
    this.#update({ connected: false, stale: this.#everConnected || this.#status.version !== undefined });
  }

  /** Opens one stream, to the next replica in turn, and reads it until it ends, fails or goes silent. */
  async #streamOnce(): Promise<StreamOutcome> {
    const target = await this.#endpoints.next();
    this.#target = target;
    const log = this.#opts.logger.child({ controlPlane: describeTarget(target) });
    const abort = new AbortController();
    this.#streamAbort = abort;
    const outcome: StreamOutcome = { healthy: false };
    let lastActivity = Date.now();
    let busy = false;
    let silent = false;
    // The watchdog: no byte for deadAfterMs (and not busy applying) means the peer is gone.
    const watchdog = setInterval(
      () => {
        if (!busy && Date.now() - lastActivity > this.#deadAfterMs) {
          silent = true;
          abort.abort(new Error(`no message for ${this.#deadAfterMs} ms`));
        }
      },
      Math.max(10, Math.min(1000, Math.floor(this.#deadAfterMs / 4))),
    );
    watchdog.unref();
    try {
      await this.#opts.identity?.ensure();
      const request: DiscoveryRequest = { node: this.#opts.node };
      if (this.#state.version !== undefined) {
        request.version = this.#state.version;
        request.resources = this.#state.versions();
      }
      const res = await this.#post(ApiPaths.discovery, JSON.stringify(request), {
        signal: abort.signal,
        bodyTimeout: 0,
      });
      if (res.statusCode !== 200) {
        this.#counters.connectFailures += 1;
        const text = (await res.body.text().catch(() => '')).slice(0, 500);
        log.warn({ status: res.statusCode, body: text }, 'control plane refused the discovery stream');
        return outcome;
      }
      this.#counters.streamsOpened += 1;
      lastActivity = Date.now();
      this.#everConnected = true;
      const replica = headerText(res.headers[REPLICA_HEADER]);
      this.#update({
        connected: true,
        stale: false,
        connectedSince: Date.now(),
        controlPlane: describeTarget(target),
        ...(replica ? { replica } : {}),
      });
      log.info({ replica }, 'discovery stream open');
      const splitter = new LineSplitter(this.#maxMessageBytes);
      for await (const chunk of res.body) {
        lastActivity = Date.now();
        this.#counters.bytesReceived += (chunk as Buffer).length;
        for (const line of splitter.push(chunk as Buffer)) {
          busy = true;
          try {
            await this.#handleLine(line);
          } finally {
            busy = false;
            lastActivity = Date.now();
          }
          outcome.healthy = true;
          if (this.#stopped) return outcome;
        }
      }
      log.warn('discovery stream ended by the control plane');
      return outcome;
    } catch (err) {
      if (this.#stopped) return outcome;
      if (!this.#status.connected) this.#counters.connectFailures += 1;
      if (silent) log.warn({ deadAfterMs: this.#deadAfterMs }, 'discovery stream silent; dropping it');
      else log.warn({ err: errorText(err) }, 'discovery stream lost');
      return outcome;
    } finally {
      clearInterval(watchdog);
      if (!abort.signal.aborted) abort.abort();
      this.#streamAbort = undefined;
    }
  }

  async #handleLine(line: string): Promise<void> {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      // Without a nonce there is nothing to NACK; a garbled stream is dropped and reopened.
      throw new Error(`discovery stream sent a line that is not JSON: ${line.slice(0, 80)}`);
    }
    if (discoveryMessageIssues(value).length === 0) {
      const message = value as DiscoveryMessage;
      if (message.type === 'delta') await this.#handleDelta(message);
      return;
    }
    const head = value as { type?: unknown; nonce?: unknown } | null;
    if (head === null || typeof head !== 'object')
      throw new Error('discovery stream sent a message that is not an object');
    if (head.type === 'delta' && typeof head.nonce === 'string' && head.nonce !== '') {
      // A delta this proxy cannot read is refused like one it cannot apply.
      const issues = deltaMessageIssues(value);
      const error = `the delta is malformed: ${issues.length > 0 ? describeIssues(issues) : 'unreadable'}`;
      await this.#refuse(head.nonce, 'unknown', { error, rejected: [] });
      return;
    }
    this.#opts.logger.debug({ type: head.type }, 'ignoring unknown discovery message');
  }

  async #handleDelta(delta: DeltaMessage): Promise<void> {
    const log = this.#opts.logger;
    const { nonce, version } = delta;
    const outcome = this.#state.prepare(delta);
    if ('refused' in outcome) {
      await this.#refuse(nonce, version, outcome.refused);
      return;
    }
    const prepared = outcome.prepared;
    if (version !== this.#state.version) {
      try {
        await this.#opts.apply(prepared.snapshot);
      } catch (err) {
        const error = errorText(err);
        await this.#refuse(nonce, version, { error, rejected: resourcesNamedBy(error, prepared) });
        return;
      }
      log.info(
        { version, resources: delta.resources.length, removed: delta.removed.length },
        'delta applied',
      );
    } else {
      // Versions are content hashes: the same version is the config already running.
      log.debug({ version }, 'delta leaves the config as it is; acknowledging without applying');
    }
    this.#state.commit(prepared);
    this.#update({ version });
    await this.#sendAck({ nodeId: this.#opts.node.id, type: 'ack', version, nonce });
  }

  /** NACKs a delta: nothing of it was applied, and the proxy keeps what it runs. */
  async #refuse(nonce: string, version: string, refused: RefusedDelta): Promise<void> {
    const keptVersion = this.#state.version ?? '';
    this.#opts.logger.error(
      {
        version,
        nonce,
        keptVersion,
        err: refused.error,
        rejected: refused.rejected.map((r) => `${r.type}/${r.name}`),
      },
      'delta rejected; keeping the current config',
    );
    this.#update({ lastNack: { nonce, error: refused.error, at: Date.now() } });
    const nack: AckMessage = {
      nodeId: this.#opts.node.id,
      type: 'nack',
      nonce,
      error: refused.error,
      keptVersion,
    };
    if (refused.rejected.length > 0) nack.rejected = refused.rejected;
    await this.#sendAck(nack);
  }

  /**
   * Posts an ACK/NACK, again after a short wait when it got no answer (the control plane waits for it before
   * its next push). A failure is logged, not thrown: the stream itself shows whether the peer lives.
   */
  async #sendAck(ack: AckMessage): Promise<void> {
    const body = JSON.stringify(ack);
    const delays = this.#opts.ackRetryDelaysMs ?? [200, 1000];
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.#post(ApiPaths.ack, body, { bodyTimeout: this.#requestTimeoutMs });
        await res.body.dump();
        if (res.statusCode >= 300)
          this.#opts.logger.warn({ status: res.statusCode, type: ack.type }, 'control plane refused an ack');
        return;
      } catch (err) {
        const delay = delays[attempt];
        if (delay === undefined || this.#stopped) {
          this.#opts.logger.warn({ err: errorText(err), type: ack.type }, 'could not send an ack');
          return;
        }
        await this.#sleep(delay);
      }
    }
  }

  /** POSTs JSON to one of the current replica's endpoints, counting the bytes sent. */
  #post(endpoint: string, body: string, options: { signal?: AbortSignal; bodyTimeout: number }) {
    this.#counters.bytesSent += Buffer.byteLength(body);
    const target = this.#target as ControlPlaneTarget;
    return this.#cp.agent.request({
      origin: this.#cp.origin(target.origin),
      path: `${target.basePath}${endpoint}`,
      method: 'POST',
      headers: { ...this.#headers(), host: target.host },
      body,
      headersTimeout: this.#requestTimeoutMs,
      ...options,
    });
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#opts.token) headers.authorization = `Bearer ${this.#opts.token}`;
    return headers;
  }

  #sleep(ms: number): Promise<void> {
    const abort = new AbortController();
    this.#sleepAbort = abort;
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        abort.signal.removeEventListener('abort', done);
        resolve();
      }
      abort.signal.addEventListener('abort', done);
    });
  }

  #update(change: Partial<DiscoveryStatus>): void {
    const next = { ...this.#status, ...change };
    if (!next.connected) {
      delete next.connectedSince;
      delete next.controlPlane;
      delete next.replica;
    }
    const before = this.#status as unknown as Record<string, unknown>;
    const after = next as unknown as Record<string, unknown>;
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    const same = [...keys].every((k) => before[k] === after[k]);
    this.#status = next;
    if (same) return;
    for (const fn of this.#listeners) {
      try {
        fn(this.status);
      } catch (err) {
        this.#opts.logger.error({ err: errorText(err) }, 'discovery status listener threw');
      }
    }
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
