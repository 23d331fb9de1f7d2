// One control-plane replica's membership in a replicated control plane over etcd: the client, the mirror of
// everything under the prefix, the replica's lease and record, shared registrations, leader election, the
// leader's compaction of etcd's history, and the configuration store itself. It also tells how it is doing.
import type { Logger } from 'pino';
import { EtcdStore } from '../config/etcd-store.ts';
import type { StoreHealth } from '../config/types.ts';
import { EtcdClient } from './client.ts';
import { LeaderElection } from './election.ts';
import { ReplicaLease } from './lease.ts';
import { EtcdMirror } from './mirror.ts';
import { EtcdRegistrations } from './registrations.ts';

/** `etcd://host:2379,host:2379[/prefix]`: the members and the prefix (default `/strait`). */
export interface EtcdUrl {
  endpoints: string[];
  prefix: string;
}

export function parseEtcdUrl(text: string): EtcdUrl {
  const match = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(text.trim());
  if (!match) throw new Error(`expected etcd://host:port[,host:port...][/prefix], got "${text}"`);
  const endpoints = (match[1] as string).split(',').map((hostPort) => {
    const host = hostPort.trim();
    if (!/^[A-Za-z0-9.\-[\]:]+$/.test(host) || host === '')
      throw new Error(`expected host:port in "${text}", got "${hostPort}"`);
    return `http://${/:\d+$/.test(host) ? host : `${host}:2379`}`;
  });
  const path = (match[2] ?? '/strait').replace(/\/+$/, '');
  return { endpoints, prefix: `${path || ''}/` };
}

export interface EtcdReplicationOptions {
  url: EtcdUrl;
  /** This replica's name, unique among replicas. */
  replica: string;
  /** host:port where proxies and straitctl reach this replica (for its record). */
  address: string;
  /** How long a replica's registrations outlive it. Default 10 s. */
  leaseTtlSeconds?: number;
  /** The leader compacts etcd's history this often, to the revision of the previous time. Default 5 min. */
  compactEveryMs?: number;
  /** Written to etcd when it holds no configuration yet. */
  seedDir?: string;
  onRelist?: () => void;
  /** Wait before resuming a broken watch (jittered). Default 200 ms. */
  watchRetryMs?: number;
  logger: Logger;
}

/** What the metrics and the console say of the replica and its store. */
export interface ReplicationStatus {
  replica: string;
  leader: string | undefined;
  isLeader: boolean;
  health: StoreHealth;
  /** Lists after the first (a compacted watch). */
  relists: number;
}

export class EtcdReplication {
  readonly client: EtcdClient;
  readonly store: EtcdStore;
  readonly registrations: EtcdRegistrations;
  readonly election: LeaderElection;
  readonly #o: EtcdReplicationOptions;
  readonly #mirror: EtcdMirror;
  readonly #lease: ReplicaLease;
  readonly #description: string;
  #lastTick: { ok: boolean; error?: string; lag?: number } = { ok: false, error: 'not started' };
  #compactTimer: NodeJS.Timeout | undefined;
  #compactTo = 0;

  constructor(options: EtcdReplicationOptions) {
    this.#o = options;
    const { endpoints, prefix } = options.url;
    const logger = options.logger;
    this.#description = `etcd ${endpoints.join(',')}`;
    this.client = new EtcdClient({ endpoints });
    this.#mirror = new EtcdMirror({
      client: this.client,
      prefix,
      logger,
      ...(options.onRelist ? { onRelist: options.onRelist } : {}),
      ...(options.watchRetryMs !== undefined ? { retryMs: options.watchRetryMs } : {}),
    });
    this.#lease = new ReplicaLease({
      client: this.client,
      key: `${prefix}replicas/${options.replica}`,
      record: { id: options.replica, address: options.address, startedAt: new Date().toISOString() },
      ttlSeconds: options.leaseTtlSeconds ?? 10,
      logger,
    });
    const lease = () => this.#lease.id;
    this.registrations = new EtcdRegistrations({
      client: this.client,
      prefix: `${prefix}registry/`,
      replica: options.replica,
      lease,
      logger,
    });
    this.election = new LeaderElection({
      client: this.client,
      key: `${prefix}leader`,
      replica: options.replica,
      lease,
      logger,
    });
    this.store = new EtcdStore({
      client: this.client,
      prefix: `${prefix}config/`,
      secretsPrefix: `${prefix}ca/`,
      description: this.#description,
      replica: options.replica,
      start: () => this.#start(),
      stop: () => this.#stop(),
      health: () => this.status().health,
      ...(options.seedDir !== undefined ? { seedDir: options.seedDir } : {}),
      logger,
    });
    for (const handler of [this.store, this.registrations, this.election]) this.#mirror.subscribe(handler);
  }

  status(): ReplicationStatus {
    const watching = this.#mirror.state === 'watching';
    const health: StoreHealth = {
      store: this.#description,
      healthy: this.#lastTick.ok && watching,
      revision: this.#mirror.revision,
    };
    if (this.#lastTick.lag !== undefined) health.watchLagRevisions = this.#lastTick.lag;
    if (!health.healthy)
      health.reason =
        this.#lastTick.error ??
        (watching ? 'unknown' : `watch ${this.#mirror.state}: ${this.#mirror.lastError ?? ''}`);
    return {
      replica: this.#o.replica,
      leader: this.election.leader,
      isLeader: this.election.isLeader,
      health,
      relists: this.#mirror.relists,
    };
  }

  async #start(): Promise<void> {
    this.#lease.onTick((tick) => {
      const lag =
        tick.revision === undefined ? undefined : Math.max(0, tick.revision - 1 - this.#mirror.revision);
      this.#lastTick = {
        ok: tick.ok,
        ...(tick.error ? { error: tick.error } : {}),
        ...(lag !== undefined ? { lag } : {}),
      };
      if (!tick.ok) return;
      void this.registrations.flush(tick.renewed);
      void this.election.campaign();
    });
    await this.#lease.start();
    await this.#mirror.start();
    await this.election.campaign();
    const every = this.#o.compactEveryMs ?? 5 * 60_000;
    this.#compactTimer = setInterval(() => void this.#compact(), every);
    this.#compactTimer.unref();
  }

  /** The leader drops history older than one interval (kube-apiserver's way), so etcd does not grow. */
  async #compact(): Promise<void> {
    const to = this.#compactTo;
    this.#compactTo = this.#mirror.revision;
    if (!this.election.isLeader || to <= 0) return;
    try {
      await this.client.compact(to);
      this.#o.logger.info({ revision: to }, 'compacted etcd’s history');
    } catch (err) {
      this.#o.logger.debug({ err: (err as Error).message }, 'compaction skipped');
    }
  }

  async #stop(): Promise<void> {
    if (this.#compactTimer) clearInterval(this.#compactTimer);
    await this.election.resign();
    await this.#lease.stop();
    await this.#mirror.stop();
    await this.client.close();
  }
}
