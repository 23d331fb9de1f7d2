// The primary of a --workers proxy: one identity, one discovery stream, the admin/stats/readiness servers.
// It binds no data listener; it forks N workers, gives each the mesh credentials and the snapshot, and ACKs
// only what all applied.
import cluster from 'node:cluster';
import { Errors, type NodeInfo, type Snapshot, StraitError } from '@strait/api';
import pino, { type Logger } from 'pino';
import { startAdminServers } from '../admin/index.ts';
import { adminBindings, type ProxyOptions } from '../config/options.ts';
import type { MeshCredentials } from '../identity/credentials.ts';
import { meshTls } from '../identity/mesh-tls.ts';
import { nodeInfoOf, STRAIT_VERSION } from '../proxy.ts';
import { ProxyTelemetry } from '../telemetry/index.ts';
import type { DiscoveryClient } from '../xds/client.ts';
import { isStarted, type MetricsJson, Requester, type WorkerCommand, WorkerError } from './ipc.ts';
import { mergeMetrics } from './metrics.ts';
import { sendCredentials } from './send-credentials.ts';
import { emptySlot, type Slot, type WorkerRow } from './slot.ts';
import {
  APPLY_TIMEOUT_MS,
  DRAIN_GRACE_MS,
  QUERY_TIMEOUT_MS,
  restartDelayMs,
  STABLE_AFTER_MS,
  START_TIMEOUT_MS,
} from './timing.ts';
import { WORKER_INDEX_ENV } from './worker.ts';

export class WorkerPrimary {
  readonly options: ProxyOptions;
  readonly logger: Logger;
  readonly node: NodeInfo;
  /** The primary's own metrics: config state, build info and its process; merged with the workers'. */
  readonly telemetry = new ProxyTelemetry({ version: STRAIT_VERSION });
  /** The last snapshot every worker applied. */
  snapshot: Snapshot | undefined;
  discovery: DiscoveryClient | undefined;
  readonly #slots: Slot[];
  /** The latest mesh credentials, which a new or re-forked worker gets before its first snapshot. */
  #credentials: MeshCredentials | undefined;
  #admin: { close(): Promise<void>; ports: { admin: number; stats: number; ready: number } } | undefined;
  #applying: Promise<void> = Promise.resolve();
  #draining = false;
  #drained: Promise<void> | undefined;

  constructor(options: ProxyOptions, logger?: Logger) {
    this.options = options;
    this.logger = logger ?? pino({ level: options.logLevel, base: { proxy: options.id } });
    this.node = nodeInfoOf(options);
    this.#slots = Array.from({ length: options.workers }, (_, index) => emptySlot(index));
  }

  /** Starts the admin servers, then the workers; resolves once every worker takes commands. */
  async start(): Promise<void> {
    this.#admin = await startAdminServers({
      ...adminBindings(this.options),
      logger: this.logger,
      ctx: {
        configDump: () => ({
          node: this.node,
          snapshot: this.snapshot,
          discovery: this.discovery?.status,
          workers: this.workers(),
        }),
        clusters: () => this.#clusters(),
        isReady: () => this.isReady(),
        isDraining: () => this.#draining,
        setLogLevel: (level) => this.#setLogLevel(level),
        drain: () => this.drain(),
        metrics: () => this.#metrics(),
        metricsContentType: this.telemetry.contentType,
        serverInfo: () => ({
          node: this.node,
          version: this.snapshot?.version,
          state: this.#draining ? 'DRAINING' : 'LIVE',
          workers: { count: this.options.workers, serving: this.#live().length, list: this.workers() },
        }),
      },
    });
    for (const slot of this.#slots) this.#fork(slot);
    const deadline = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`workers did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      ).unref(),
    );
    try {
      await Promise.race([Promise.all(this.#slots.map((s) => s.ready)), deadline]);
    } catch (err) {
      this.#draining = true;
      for (const slot of this.#slots) slot.worker?.process.kill('SIGKILL');
      await this.#admin.close();
      throw err;
    }
  }

  get adminPorts(): { admin: number; stats: number; ready: number } | undefined {
    return this.#admin?.ports;
  }

  /** Per worker: position, pid, state, the version it runs, the certificate it presents, how often it was re-forked. */
  workers(): WorkerRow[] {
    return this.#slots.map((s) => ({
      index: s.index,
      pid: s.worker?.process.pid,
      state: this.#stateOf(s),
      version: s.version,
      certificate: s.certificate,
      restarts: s.restarts,
    }));
  }

  /**
   * Takes the proxy's new mesh certificate (the primary made the key: one identity per proxy, as one Envoy
   * has one) and hands it to every worker, which installs it the way a single-process proxy does. A worker
   * that does not take it is replaced; the new one gets the latest credentials in its catch-up.
   */
  async installCredentials(credentials: MeshCredentials): Promise<void> {
    this.#credentials = credentials;
    meshTls.update(credentials);
    await Promise.all(this.#live().map((slot) => this.#sendCredentials(slot)));
  }

  /** Gives a worker the latest credentials (if any); false when it failed and is being replaced. */
  #sendCredentials(slot: Slot): Promise<boolean> {
    return this.#credentials ? sendCredentials(slot, this.#credentials, this.logger) : Promise.resolve(true);
  }

  #stateOf(s: Slot): string {
    if (!s.worker) return this.#draining ? 'stopped' : 'restarting';
    if (!s.started) return 'starting';
    return s.version === undefined ? 'waiting for config' : 'serving';
  }

  /**
   * A snapshot is applied, at least one worker serves, and every worker that serves runs it. A re-forked
   * worker that has not caught up yet serves nothing (it binds listeners only with a snapshot), so it does
   * not turn a gateway whose other workers serve unready.
   */
  isReady(): boolean {
    const snapshot = this.snapshot;
    if (!snapshot || this.#draining) return false;
    const serving = this.#live().filter((s) => s.version !== undefined);
    return serving.length > 0 && serving.every((s) => s.version === snapshot.version);
  }

  /**
   * Gives the snapshot to every worker; resolves when all applied it (the caller ACKs), rejects with a
   * worker's error when one refused (the caller NACKs) after putting the others back on the last good one.
   * Serialised with re-forked workers catching up, so a worker never misses or reorders a config.
   */
  apply(snapshot: Snapshot): Promise<void> {
    const run = this.#applying.then(() => this.#apply(snapshot));
    this.#applying = run.catch(() => {});
    return run;
  }

  async #apply(snapshot: Snapshot): Promise<void> {
    const live = await this.#someLive();
    const results = await Promise.allSettled(
      live.map((s) => (s.requester as Requester).request({ kind: 'apply', snapshot }, APPLY_TIMEOUT_MS)),
    );
    const accepted = live.filter((_, i) => results[i]?.status === 'fulfilled');
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ slot: live[i] as Slot, err: r.reason as Error }] : [],
    );
    const refused = failed.filter(({ err }) => err instanceof WorkerError && err.answered);
    // A worker that died or did not answer in time is in an unknown state: it is replaced, and the new
    // process catches up with whatever config is current by then. It does not decide ACK or NACK.
    for (const { slot, err } of failed) {
      if (refused.some((r) => r.slot === slot)) continue;
      this.logger.warn({ worker: slot.index, err: err.message }, 'worker lost while applying; replacing it');
      slot.worker?.process.kill('SIGKILL');
    }
    if (refused.length === 0 && accepted.length > 0) {
      for (const slot of accepted) slot.version = snapshot.version;
      this.snapshot = snapshot;
      this.telemetry.configApplied(snapshot.version);
      this.logger.info(
        { version: snapshot.version, workers: accepted.length },
        'snapshot applied by every worker',
      );
      return;
    }
    // All workers must serve the same config: those that took the new one go back to the last good one.
    await Promise.all(accepted.map((slot) => this.#catchUp(slot, 'rollback')));
    const first = refused[0] ?? failed[0];
    const err = first?.err ?? new StraitError(Errors.SNAPSHOT_APPLY_FAILED, 'no worker applied it');
    this.logger.error(
      { version: snapshot.version, worker: first?.slot.index, err: err.message },
      'a worker refused the snapshot; every worker keeps the last good config',
    );
    throw err;
  }

  /** The workers that take commands; waits (up to the apply timeout) while every worker is re-forking. */
  async #someLive(): Promise<Slot[]> {
    const deadline = Date.now() + APPLY_TIMEOUT_MS;
    for (;;) {
      const live = this.#live();
      if (live.length > 0) return live;
      if (this.#draining || Date.now() > deadline)
        throw new StraitError(Errors.SNAPSHOT_APPLY_FAILED, 'no worker is running to apply it');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  #live(): Slot[] {
    return this.#slots.filter((s) => s.started && s.requester !== undefined);
  }

  /**
   * Puts a worker on the last good snapshot (or replaces it when that fails): a new worker catching up
   * (credentials first, so its mesh listeners can handshake from their first connection), or a 'rollback'
   * of one that applied a config another worker refused.
   */
  async #catchUp(slot: Slot, why: 'new' | 'rollback'): Promise<void> {
    if (why === 'new' && !(await this.#sendCredentials(slot))) return;
    const snapshot = this.snapshot;
    const worker = slot.worker;
    if (!worker || !slot.requester) return;
    if (!snapshot) {
      // A rollback with nothing older to go back to: the worker starts afresh, without config.
      if (why === 'rollback') worker.process.kill('SIGKILL');
      return;
    }
    try {
      await slot.requester.request({ kind: 'apply', snapshot }, APPLY_TIMEOUT_MS);
      if (slot.worker === worker) slot.version = snapshot.version;
    } catch (err) {
      this.logger.error(
        { worker: slot.index, version: snapshot.version, err: (err as Error).message },
        'worker could not apply the current config; replacing it',
      );
      worker.process.kill('SIGKILL');
    }
  }

  #fork(slot: Slot): void {
    slot.restartTimer = undefined;
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(slot.index), STRAIT_ID: this.options.id });
    const requester = new Requester(worker);
    const ready = Promise.withResolvers<void>();
    ready.promise.catch(() => {});
    Object.assign(slot, {
      worker,
      requester,
      started: false,
      version: undefined,
      certificate: undefined,
      forkedAt: Date.now(),
      ready: ready.promise,
    });
    worker.on('message', (message: unknown) => {
      if (!isStarted(message)) {
        requester.handle(message);
        return;
      }
      if (slot.worker !== worker) return;
      slot.started = true;
      ready.resolve();
      this.logger.info({ worker: slot.index, pid: message.pid }, 'worker started');
      // A re-forked worker gets the current config, in turn with any push in progress.
      this.#applying = this.#applying.then(() => this.#catchUp(slot, 'new'));
    });
    worker.on('error', (err) =>
      this.logger.warn({ worker: slot.index, err: err.message }, 'worker channel error'),
    );
    worker.on('exit', (code, signal) => {
      requester.close(`worker ${slot.index} exited`);
      ready.reject(
        new Error(`worker ${slot.index} exited (code ${code}, signal ${signal}) before it started`),
      );
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.requester = undefined;
      slot.started = false;
      slot.version = undefined;
      slot.certificate = undefined;
      if (this.#draining) return;
      slot.crashes = Date.now() - slot.forkedAt >= STABLE_AFTER_MS ? 1 : slot.crashes + 1;
      const delay = restartDelayMs(slot.crashes);
      this.logger.error(
        { worker: slot.index, pid: worker.process.pid, code, signal, restartInMs: delay },
        'worker died; starting a new one',
      );
      slot.restartTimer = setTimeout(() => {
        if (this.#draining) return;
        slot.restarts += 1;
        this.#fork(slot);
      }, delay);
    });
  }

  /** Asks every live worker the same question; a worker that fails gets `undefined` and a warning naming `what`. */
  #askLive(command: WorkerCommand, what: string): Promise<{ slot: Slot; answer: unknown }[]> {
    return Promise.all(
      this.#live().map(async (slot) => ({
        slot,
        answer: await (slot.requester as Requester).request(command, QUERY_TIMEOUT_MS).catch((err: Error) => {
          this.logger.warn({ worker: slot.index, err: err.message }, what);
          return undefined;
        }),
      })),
    );
  }

  async #clusters(): Promise<unknown> {
    const answers = await this.#askLive({ kind: 'clusters' }, 'worker did not answer /clusters');
    return {
      workers: answers.map(({ slot, answer }) => ({
        worker: slot.index,
        pid: slot.worker?.process.pid,
        clusters: answer ?? { error: 'no answer' },
      })),
    };
  }

  async #setLogLevel(level: string): Promise<boolean> {
    if (!Object.hasOwn(this.logger.levels.values, level)) return false;
    this.logger.level = level;
    await this.#askLive({ kind: 'log-level', level }, 'worker did not take the log level');
    return true;
  }

  async #metrics(): Promise<string> {
    const answers = await this.#askLive({ kind: 'metrics' }, 'worker metrics left out of this scrape');
    return mergeMetrics(
      this.telemetry.registry,
      answers.flatMap(({ answer }) => (answer === undefined ? [] : [answer as MetricsJson])),
    );
  }

  /** Every worker stops accepting, finishes in-flight requests and exits; rejects if one could not. */
  drain(): Promise<void> {
    this.#drained ??= this.#drainWorkers();
    return this.#drained;
  }

  async #drainWorkers(): Promise<void> {
    this.#draining = true;
    this.logger.info('draining every worker');
    const failures: string[] = [];
    const limitMs = this.options.drainTimeoutMs + DRAIN_GRACE_MS;
    await Promise.all(
      this.#slots.map(async (slot) => {
        clearTimeout(slot.restartTimer);
        const worker = slot.worker;
        if (!worker || worker.isDead()) return;
        const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
        const serving = slot.started && slot.requester !== undefined;
        if (!serving) {
          // Not serving anything yet: nothing to drain.
          worker.process.kill('SIGKILL');
          await exited;
          return;
        }
        (slot.requester as Requester).request({ kind: 'drain' }, limitMs).catch((err: Error) => {
          // The worker exits right after answering, which can close the channel first: only its exit code counts.
          this.logger.debug(
            { worker: slot.index, err: err.message },
            'drain request ended without an answer',
          );
        });
        const timer = setTimeout(() => {
          failures.push(`worker ${slot.index} did not exit within ${limitMs} ms`);
          worker.process.kill('SIGKILL');
        }, limitMs + 1000);
        const code = await exited;
        clearTimeout(timer);
        if (code !== 0 && !failures.some((f) => f.startsWith(`worker ${slot.index} `)))
          failures.push(`worker ${slot.index} exited with ${code ?? 'a signal'}`);
      }),
    );
    if (failures.length > 0) {
      this.logger.error({ failures }, 'not every worker drained cleanly');
      throw new Error(`workers did not drain: ${failures.join('; ')}`);
    }
    this.logger.info('every worker drained');
  }

  /** Drains and stops every worker, then the discovery stream and the admin servers. */
  async stop(): Promise<void> {
    let failure: unknown;
    try {
      await this.drain();
    } catch (err) {
      failure = err;
    }
    await this.discovery?.stop();
    await this.#admin?.close();
    if (failure) throw failure;
  }
}
