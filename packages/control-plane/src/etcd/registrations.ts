// Proxy registrations in etcd: `<prefix>registry/<proxyId>` holds the proxy's description and the replica it
// is connected to, under that replica's lease. A replica that dies takes its registrations with its lease
// (one TTL later) unless their proxies registered again through another replica, which overwrote them.
import { type NodeInfo, NodeInfoSchema } from '@strait/api';
import type { Logger } from 'pino';
import type { SharedRegistration, SharedRegistrations } from '../registry/shared.ts';
import type { EtcdClient, KeyValue, WatchEvent } from './client.ts';
import { type MirrorHandler, newestRevision, unseen } from './mirror.ts';

export interface EtcdRegistrationsOptions {
  client: EtcdClient;
  /** `<prefix>registry/`. */
  prefix: string;
  replica: string;
  /** The lease registrations are written under (this replica's). */
  lease: () => string | undefined;
  logger: Logger;
}

/** A registration as read, with the text it was read from (an identical rewrite is no change). */
type Kept = SharedRegistration & { value: string };

export class EtcdRegistrations implements SharedRegistrations, MirrorHandler {
  readonly prefix: string;
  readonly #o: EtcdRegistrationsOptions;
  #all = new Map<string, Kept>();
  #known = 0;
  /** What this replica registered, by proxy id: the exact value written (a withdrawal deletes only it). */
  readonly #mine = new Map<string, string>();
  /** Of those, the proxies connected here now (written again under a new lease, or when deleted). */
  readonly #connected = new Set<string>();
  /** Registrations not yet written (etcd did not answer, or no lease yet). */
  readonly #unwritten = new Set<string>();
  readonly #listeners: (() => void)[] = [];

  constructor(options: EtcdRegistrationsOptions) {
    this.#o = options;
    this.prefix = options.prefix;
  }

  all(): ReadonlyMap<string, SharedRegistration> {
    return this.#all;
  }

  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  publish(node: NodeInfo): void {
    this.#mine.set(node.id, JSON.stringify({ replica: this.#o.replica, node }));
    this.#connected.add(node.id);
    this.#unwritten.add(node.id);
    void this.flush();
  }

  release(id: string): void {
    this.#connected.delete(id);
    this.#unwritten.delete(id);
  }

  withdraw(id: string): void {
    const value = this.#mine.get(id);
    this.#mine.delete(id);
    this.release(id);
    if (value === undefined) return;
    const key = this.prefix + id;
    this.#o.client
      .txn([{ key, target: 'VALUE', result: 'EQUAL', value }], [{ deleteRange: { key } }])
      .catch((err: unknown) => {
        // The lease ends it anyway once this replica goes; until then it names a proxy that has left.
        this.#o.logger.warn({ proxy: id, err: (err as Error).message }, 'could not withdraw a registration');
      });
  }

  /** Writes what is not written yet; with `all`, every proxy connected here (after a new lease). */
  async flush(all = false): Promise<void> {
    const lease = this.#o.lease();
    if (lease === undefined) return;
    const ids = all ? [...this.#connected] : [...this.#unwritten];
    await Promise.all(
      ids.map(async (id) => {
        const value = this.#mine.get(id);
        if (value === undefined || !this.#connected.has(id)) return;
        this.#unwritten.delete(id);
        try {
          await this.#o.client.put(this.prefix + id, value, lease);
        } catch (err) {
          if (this.#mine.get(id) === value) this.#unwritten.add(id);
          this.#o.logger.warn(
            { proxy: id, err: (err as Error).message },
            'registration not written; will retry',
          );
        }
      }),
    );
  }

  onList(kvs: readonly KeyValue[], revision: number): void {
    if (revision < this.#known) return;
    this.#known = revision;
    const next = new Map<string, Kept>();
    for (const kv of kvs) {
      const entry = this.#read(kv);
      if (entry) next.set(kv.key.slice(this.prefix.length), entry);
    }
    this.#all = next;
    this.#changed();
  }

  onEvents(events: readonly WatchEvent[]): void {
    const fresh = unseen(events, this.#known);
    this.#known = newestRevision(fresh, this.#known);
    let changed = false;
    for (const { type, kv } of fresh) {
      const id = kv.key.slice(this.prefix.length);
      if (type === 'DELETE') {
        changed = this.#all.delete(id) || changed;
        // Ours, gone while the proxy is still connected here (say, a lease etcd let expire): write it again.
        if (this.#connected.has(id)) this.#unwritten.add(id);
        continue;
      }
      if (this.#all.get(id)?.value === kv.value) continue;
      const entry = this.#read(kv);
      if (entry) {
        this.#all.set(id, entry);
        changed = true;
      }
    }
    if (changed) this.#changed();
    if (this.#unwritten.size > 0) void this.flush();
  }

  #read(kv: KeyValue): Kept | undefined {
    try {
      const value = JSON.parse(kv.value) as { replica?: unknown; node?: unknown };
      const node = NodeInfoSchema.safeParse(value.node);
      if (node.success && typeof value.replica === 'string')
        return { node: node.data, replica: value.replica, value: kv.value };
    } catch {
      // fall through
    }
    this.#o.logger.warn({ key: kv.key }, 'ignoring a registration that is not one');
    return undefined;
  }

  #changed(): void {
    for (const fn of this.#listeners) fn();
  }
}
