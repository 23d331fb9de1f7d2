// Picks the configuration store from --store: a config directory (the default, embedded) or etcd
// (`etcd://host:2379,host:2379[/prefix]`), which also shares registrations and elects a leader among replicas.
import type { Logger } from 'pino';
import { EtcdReplication, parseEtcdUrl } from '../etcd/replication.ts';
import type { SharedRegistrations } from '../registry/shared.ts';
import { DirectoryStore } from './directory-store.ts';
import type { ConfigStore } from './types.ts';

export interface StoreChoice {
  /** `etcd://...`; absent: the config directory. */
  store?: string;
  /** The config directory (with etcd: written to etcd when it holds no configuration yet). */
  configDir?: string;
  /** Follow direct edits of the directory. Default true. */
  watch?: boolean;
  replica: string;
  /** host:port where this replica is reached. */
  address: string;
  leaseTtlSeconds?: number;
  compactEveryMs?: number;
  /** Called when the etcd store lists everything again (a compacted watch). */
  onRelist?: () => void;
  logger: Logger;
}

export interface OpenedStore {
  store: ConfigStore;
  /** With etcd: registrations shared with the other replicas. */
  shared?: SharedRegistrations;
  /** With etcd: the replica's membership (leadership, store health). */
  replication?: EtcdReplication;
}

/** Builds the store (open() it to load); throws with a clear message for a bad --store. */
export function chooseStore(o: StoreChoice): OpenedStore {
  if (o.store === undefined || o.store === '') {
    if (o.configDir === undefined)
      throw new Error('a config directory (--config-dir) or --store etcd://... is needed');
    const logger = o.logger;
    const store = new DirectoryStore(o.configDir, {
      watch: o.watch !== false,
      onReadError: (err) => logger.error({ err }, 'config directory could not be read'),
    });
    return { store };
  }
  if (!o.store.startsWith('etcd://'))
    throw new Error(`--store expects etcd://host:port[,host:port...][/prefix], got "${o.store}"`);
  const replication = new EtcdReplication({
    url: parseEtcdUrl(o.store),
    replica: o.replica,
    address: o.address,
    logger: o.logger,
    ...(o.onRelist ? { onRelist: o.onRelist } : {}),
    ...(o.leaseTtlSeconds !== undefined ? { leaseTtlSeconds: o.leaseTtlSeconds } : {}),
    ...(o.compactEveryMs !== undefined ? { compactEveryMs: o.compactEveryMs } : {}),
    ...(o.configDir !== undefined ? { seedDir: o.configDir } : {}),
  });
  return { store: replication.store, shared: replication.registrations, replication };
}
