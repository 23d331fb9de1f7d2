// A replica's etcd lease: what it registers lives as long as the replica does. Granted at start, renewed
// every tick, granted anew if etcd let it expire (a long partition); each tick also rewrites the replica's
// own record, which tells the others it lives and measures the store's health and this replica's lag.
import type { Logger } from 'pino';
import type { EtcdClient } from './client.ts';

/** What this replica says of itself under `<prefix>replicas/<id>`. */
export interface ReplicaRecord {
  id: string;
  /** host:port of its discovery and resource API. */
  address: string;
  startedAt: string;
}

export interface ReplicaLeaseOptions {
  client: EtcdClient;
  key: string;
  record: ReplicaRecord;
  ttlSeconds: number;
  /** Between renewals. Default a third of the TTL, at most 1 s (the health and lag it measures stay fresh). */
  tickMs?: number;
  logger: Logger;
}

export interface LeaseTick {
  /** The lease is alive and the record written. */
  ok: boolean;
  /** A new lease was granted this tick (registrations must be written again under it). */
  renewed: boolean;
  /** etcd's revision, from the record's write. */
  revision?: number;
  error?: string;
}

export class ReplicaLease {
  readonly #o: ReplicaLeaseOptions;
  #id: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;
  readonly #listeners: ((tick: LeaseTick) => void)[] = [];

  constructor(options: ReplicaLeaseOptions) {
    this.#o = options;
  }

  /** The lease in force, if any. */
  get id(): string | undefined {
    return this.#id;
  }

  /** Calls `fn` after every tick. */
  onTick(fn: (tick: LeaseTick) => void): void {
    this.#listeners.push(fn);
  }

  /** Grants the first lease (throws if etcd cannot), then renews it in the background. */
  async start(): Promise<void> {
    await this.#tick(true);
    const every = this.#o.tickMs ?? Math.min(1000, (this.#o.ttlSeconds * 1000) / 3);
    this.#timer = setInterval(() => {
      this.#ticking ??= this.#tick(false).finally(() => {
        this.#ticking = undefined;
      });
    }, every);
  }

  async #tick(first: boolean): Promise<void> {
    const tick: LeaseTick = { ok: false, renewed: false };
    try {
      if (this.#id !== undefined && (await this.#o.client.leaseKeepAlive(this.#id)) <= 0) {
        this.#o.logger.warn({ lease: this.#id }, 'etcd let this replica’s lease expire; taking a new one');
        this.#id = undefined;
      }
      if (this.#id === undefined) {
        this.#id = (await this.#o.client.leaseGrant(this.#o.ttlSeconds)).id;
        tick.renewed = true;
      }
      const header = await this.#o.client.put(this.#o.key, JSON.stringify(this.#o.record), this.#id);
      tick.ok = true;
      tick.revision = header.revision;
    } catch (err) {
      tick.error = (err as Error).message;
      if (first) throw err;
    }
    if (this.#stopped) return;
    for (const fn of this.#listeners) fn(tick);
  }

  /**
   * Stops renewing and removes the replica's record. The lease itself is left to expire: the registrations
   * under it stay for one TTL, time for this replica's proxies to register again through another.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#ticking;
    await this.#o.client
      .txn(
        [{ key: this.#o.key, target: 'VALUE', result: 'EQUAL', value: JSON.stringify(this.#o.record) }],
        [{ deleteRange: { key: this.#o.key } }],
      )
      .catch(() => undefined);
  }
}
