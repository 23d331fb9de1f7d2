// Leader election among replicas: the first to create `<prefix>leader` under its lease leads until it stops
// or its lease expires; the others see the key go and try again. The leader does what must happen once for
// the whole mesh (compacting etcd's history); everything else, signing included, every replica does.
import type { Logger } from 'pino';
import type { EtcdClient, KeyValue, WatchEvent } from './client.ts';
import { type MirrorHandler, newestRevision, unseen } from './mirror.ts';

export interface ElectionOptions {
  client: EtcdClient;
  key: string;
  replica: string;
  lease: () => string | undefined;
  logger: Logger;
}

export class LeaderElection implements MirrorHandler {
  readonly prefix: string;
  readonly #o: ElectionOptions;
  readonly #value: string;
  #leader: string | undefined;
  #known = 0;
  #campaigning = false;

  constructor(options: ElectionOptions) {
    this.#o = options;
    this.prefix = options.key;
    this.#value = JSON.stringify({ replica: options.replica });
  }

  /** The leading replica's id, if one leads. */
  get leader(): string | undefined {
    return this.#leader;
  }

  get isLeader(): boolean {
    return this.#leader === this.#o.replica;
  }

  onList(kvs: readonly KeyValue[], revision: number): void {
    if (revision < this.#known) return;
    this.#known = revision;
    const kv = kvs.find((k) => k.key === this.prefix);
    this.#setLeader(kv?.value);
  }

  onEvents(events: readonly WatchEvent[]): void {
    const fresh = unseen(events, this.#known).filter((e) => e.kv.key === this.prefix);
    this.#known = newestRevision(fresh, this.#known);
    const last = fresh.at(-1);
    if (last) this.#setLeader(last.type === 'DELETE' ? undefined : last.kv.value);
  }

  /** Tries to lead when nobody does (called on every lease tick). */
  async campaign(): Promise<void> {
    const lease = this.#o.lease();
    if (this.#leader !== undefined || this.#campaigning || lease === undefined) return;
    this.#campaigning = true;
    try {
      const won = await this.#o.client.txn(
        [{ key: this.prefix, target: 'CREATE', result: 'EQUAL', revision: 0 }],
        [{ put: { key: this.prefix, value: this.#value, lease } }],
      );
      if (won.succeeded) {
        this.#known = Math.max(this.#known, won.header.revision);
        this.#setLeader(this.#value);
      }
    } catch (err) {
      this.#o.logger.debug({ err: (err as Error).message }, 'leader election: no answer from etcd');
    } finally {
      this.#campaigning = false;
    }
  }

  /** Steps down (a clean shutdown), so another replica leads at once rather than after the lease's TTL. */
  async resign(): Promise<void> {
    if (!this.isLeader) return;
    await this.#o.client
      .txn(
        [{ key: this.prefix, target: 'VALUE', result: 'EQUAL', value: this.#value }],
        [{ deleteRange: { key: this.prefix } }],
      )
      .catch(() => undefined);
  }

  #setLeader(value: string | undefined): void {
    let leader: string | undefined;
    try {
      leader = value === undefined ? undefined : (JSON.parse(value) as { replica?: string }).replica;
    } catch {
      leader = undefined;
    }
    if (leader === this.#leader) return;
    const was = this.#leader;
    this.#leader = leader;
    if (leader === this.#o.replica) this.#o.logger.info('this replica leads');
    else if (was === this.#o.replica) this.#o.logger.info({ leader }, 'this replica no longer leads');
  }
}
