// Active HTTP health checking for one cluster: every interval (plus random jitter) each host gets a
// GET of the check path; results drive the host's HealthState. Probes go over a dedicated keep-alive
// undici Client per host (not the traffic pool), as Envoy does: a check never queues behind traffic
// held back by maxConnections, and does not count toward circuit breakers.
import { HEALTH_CHECK_USER_AGENT, type HealthCheck } from '@strait/api';
import type { buildConnector } from 'undici';
import { Client } from '../upstream/undici.ts';
import type { HealthState, ProbeResult } from './state.ts';

/** An undici connector that opens the endpoint's TLS connection and hands it over once the handshake is done. */
function viaTls(
  open: (address: string, port: number) => import('node:net').Socket,
): buildConnector.connector {
  return (options, callback) => {
    const socket = open(options.hostname, Number(options.port));
    const onError = (err: Error) => callback(err, null);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.removeListener('error', onError);
      callback(null, socket);
    });
  };
}

/** What the checker needs from a host. `Host` from upstream/host.ts satisfies it. */
export interface HealthCheckTarget {
  readonly key: string;
  /** http://address:port */
  readonly origin: string;
  readonly activeHealth: HealthState;
  /** Set when the endpoint is reached over TLS (mesh mTLS): probes go the same way. */
  readonly tlsConnect?: ((address: string, port: number) => import('node:net').Socket) | undefined;
}

/** Sends one probe. Injectable so the scheduling and state logic test without sockets. */
export interface Prober {
  probe(target: HealthCheckTarget): Promise<ProbeResult>;
  /** The host went away: drop anything kept for it. */
  forget(key: string): void;
  close(): Promise<void>;
}

export interface ActiveHealthCheckerOptions<T extends HealthCheckTarget> {
  config: HealthCheck;
  /** Host header of the probe: healthCheck.host, else the cluster's service; undefined = the host's address:port. */
  authority: string | undefined;
  /** Called after every probe; `changed` when the host flipped between healthy and unhealthy. */
  onResult: (target: T, result: ProbeResult, changed: boolean) => void;
  prober?: Prober;
  random?: () => number;
}

const PROBE_KEEP_ALIVE_MS = 4000;

interface Entry<T> {
  target: T;
  timer: NodeJS.Timeout | undefined;
  removed: boolean;
}

export class ActiveHealthChecker<T extends HealthCheckTarget> {
  readonly config: HealthCheck;
  readonly #onResult: (target: T, result: ProbeResult, changed: boolean) => void;
  readonly #prober: Prober;
  readonly #random: () => number;
  readonly #entries = new Map<string, Entry<T>>();
  #running = false;

  constructor(opts: ActiveHealthCheckerOptions<T>) {
    this.config = opts.config;
    this.#onResult = opts.onResult;
    this.#random = opts.random ?? Math.random;
    this.#prober = opts.prober ?? new HttpProber(opts.config, opts.authority);
  }

  /** Starts checking `targets`; the first probe of each goes out within jitterMs. */
  start(targets: readonly T[]): void {
    this.#running = true;
    this.setTargets(targets);
  }

  /** Adds probes for new targets and stops those for targets that are gone. */
  setTargets(targets: readonly T[]): void {
    const keep = new Set<string>();
    for (const target of targets) {
      keep.add(target.key);
      const existing = this.#entries.get(target.key);
      if (existing) {
        existing.target = target;
        continue;
      }
      const entry: Entry<T> = { target, timer: undefined, removed: false };
      this.#entries.set(target.key, entry);
      if (this.#running) this.#schedule(entry, this.#jitter());
    }
    for (const [key, entry] of this.#entries) {
      if (keep.has(key)) continue;
      this.#drop(entry);
      this.#entries.delete(key);
      this.#prober.forget(key);
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const entry of this.#entries.values()) this.#drop(entry);
    this.#entries.clear();
    await this.#prober.close();
  }

  #drop(entry: Entry<T>): void {
    entry.removed = true;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  #jitter(): number {
    return Math.floor(this.#random() * (this.config.jitterMs ?? 0));
  }

  #schedule(entry: Entry<T>, delayMs: number): void {
    entry.timer = setTimeout(() => void this.#check(entry), delayMs);
    entry.timer.unref?.();
  }

  async #check(entry: Entry<T>): Promise<void> {
    entry.timer = undefined;
    let result: ProbeResult;
    try {
      result = await this.#prober.probe(entry.target);
    } catch {
      result = 'failure';
    }
    if (entry.removed || !this.#running) return;
    const changed = entry.target.activeHealth.record(result, this.config);
    try {
      this.#onResult(entry.target, result, changed);
    } finally {
      this.#schedule(entry, this.config.intervalMs + this.#jitter());
    }
  }
}

/** Statuses that count as healthy: the configured inclusive ranges, else 200-299. */
export function isExpectedStatus(status: number, config: Pick<HealthCheck, 'expectedStatuses'>): boolean {
  const ranges = config.expectedStatuses ?? [{ start: 200, end: 299 }];
  return ranges.some((r) => status >= r.start && status <= r.end);
}

/** Probes over HTTP/1.1 with one kept-alive Client per host. */
export class HttpProber implements Prober {
  readonly #config: HealthCheck;
  readonly #authority: string | undefined;
  readonly #clients = new Map<string, Client>();

  constructor(config: HealthCheck, authority: string | undefined) {
    this.#config = config;
    this.#authority = authority;
  }

  async probe(target: HealthCheckTarget): Promise<ProbeResult> {
    const timeoutMs = this.#config.timeoutMs;
    const client = this.#clientFor(target);
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await client.request({
        method: 'GET',
        path: this.#config.path,
        headers: {
          host: this.#authority ?? target.key,
          'user-agent': HEALTH_CHECK_USER_AGENT,
          accept: '*/*',
        },
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await res.body.dump({ limit: 64 * 1024 });
      return isExpectedStatus(res.statusCode, this.#config) ? 'success' : 'failure';
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (signal.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        return 'timeout';
      }
      if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
      return 'failure';
    }
  }

  forget(key: string): void {
    const client = this.#clients.get(key);
    this.#clients.delete(key);
    client?.destroy().catch(() => {});
  }

  async close(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map((c) => c.destroy().catch(() => {})));
  }

  #clientFor(target: HealthCheckTarget): Client {
    let client = this.#clients.get(target.key);
    if (!client) {
      // One lean connection, kept alive between checks for less than Node's 5 s server default.
      const tls = target.tlsConnect;
      client = new Client(target.origin, {
        pipelining: 1,
        connectTimeout: this.#config.timeoutMs,
        keepAliveTimeout: PROBE_KEEP_ALIVE_MS,
        keepAliveMaxTimeout: PROBE_KEEP_ALIVE_MS,
        // Each new probe connection takes the proxy's current certificate.
        ...(tls ? { connect: viaTls(tls) } : {}),
      });
      this.#clients.set(target.key, client);
    }
    return client;
  }
}
