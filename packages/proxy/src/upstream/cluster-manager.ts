// The cluster manager: holds every upstream cluster of the current snapshot and applies new snapshots
// incrementally, so unchanged clusters, hosts, pools and health state survive a config push.
import type { Cluster } from '@strait/api';
import { Errors, StraitError } from '@strait/api';
import type { Logger } from 'pino';
import type { Prober } from '../health/active.ts';
import { LB_POLICIES } from '../lb/registry.ts';
import { UpstreamCluster } from './cluster.ts';
import { hostKey } from './host.ts';
import type { ClusterEvents, ClusterStatus } from './types.ts';

export interface ClusterManagerOptions {
  logger: Logger;
  events?: ClusterEvents;
  /** Clock and randomness, injectable for tests. */
  now?: () => number;
  random?: () => number;
  prober?: Prober;
}

interface Entry {
  cluster: UpstreamCluster;
  /** The config as JSON, to spot unchanged clusters cheaply. */
  json: string;
}

export class ClusterManager {
  readonly #opts: ClusterManagerOptions;
  readonly #logger: Logger;
  #clusters = new Map<string, Entry>();
  readonly #closing = new Set<Promise<void>>();

  constructor(opts: ClusterManagerOptions) {
    this.#opts = opts;
    this.#logger = opts.logger;
  }

  /**
   * Makes `clusters` the current set. Validates first (duplicate names throw STRAIT_SNAPSHOT_INVALID and
   * change nothing); unchanged clusters are left alone, changed ones updated in place, removed ones closed.
   */
  update(clusters: readonly Cluster[]): void {
    ClusterManager.validate(clusters);
    const byName = new Map<string, Cluster>();
    for (const config of clusters) byName.set(config.name, config);
    const next = new Map<string, Entry>();
    let added = 0;
    let changed = 0;
    for (const [name, config] of byName) {
      const json = JSON.stringify(config);
      const existing = this.#clusters.get(name);
      if (existing && existing.json === json) {
        next.set(name, existing);
      } else if (existing && (existing.cluster.config.type ?? 'STATIC') === (config.type ?? 'STATIC')) {
        existing.cluster.update(config);
        next.set(name, { cluster: existing.cluster, json });
        changed++;
      } else {
        if (existing) this.#retire(existing.cluster);
        next.set(name, { cluster: this.#create(config), json });
        added++;
      }
    }
    let removed = 0;
    for (const [name, entry] of this.#clusters) {
      if (!next.has(name)) {
        this.#retire(entry.cluster);
        removed++;
      }
    }
    this.#clusters = next;
    if (added + changed + removed > 0) this.#logger.info({ added, changed, removed }, 'clusters updated');
  }

  /**
   * Throws STRAIT_SNAPSHOT_INVALID for what update() could not apply: a cluster name used twice, an
   * unknown load balancing policy, an endpoint address that does not make a URL. Call it before any other
   * part of a snapshot is applied so a bad snapshot never half-applies; update() calls it too.
   */
  static validate(clusters: readonly Cluster[]): void {
    // Each message starts with the field path, so a NACK can name the discovery resource at fault.
    const names = new Set<string>();
    clusters.forEach((config, i) => {
      if (names.has(config.name)) {
        throw new StraitError(
          Errors.SNAPSHOT_INVALID,
          `clusters[${i}].name: cluster "${config.name}" is defined twice`,
        );
      }
      names.add(config.name);
      const policy = config.lbPolicy ?? 'ROUND_ROBIN';
      if (!LB_POLICIES.includes(policy)) {
        throw new StraitError(
          Errors.SNAPSHOT_INVALID,
          `clusters[${i}].lbPolicy: cluster "${config.name}" has an unknown lbPolicy "${policy}"`,
        );
      }
      config.endpoints.forEach((endpoint, j) => {
        if (!URL.canParse(`http://${hostKey(endpoint.address, endpoint.port)}`)) {
          throw new StraitError(
            Errors.SNAPSHOT_INVALID,
            `clusters[${i}].endpoints[${j}].address: endpoint address "${endpoint.address}" of cluster "${config.name}" is not a valid host`,
          );
        }
      });
    });
  }

  get(name: string): UpstreamCluster | undefined {
    return this.#clusters.get(name)?.cluster;
  }

  names(): string[] {
    return [...this.#clusters.keys()];
  }

  dump(): ClusterStatus[] {
    return [...this.#clusters.values()].map((e) => e.cluster.status());
  }

  /** Closes every cluster; resolves when their pools have finished in-flight requests. */
  async close(): Promise<void> {
    for (const entry of this.#clusters.values()) this.#retire(entry.cluster);
    this.#clusters.clear();
    await Promise.all([...this.#closing]);
  }

  #create(config: Cluster): UpstreamCluster {
    const cluster = new UpstreamCluster(config, {
      logger: this.#logger,
      ...(this.#opts.events ? { events: this.#opts.events } : {}),
      ...(this.#opts.now ? { now: this.#opts.now } : {}),
      ...(this.#opts.random ? { random: this.#opts.random } : {}),
      ...(this.#opts.prober ? { prober: this.#opts.prober } : {}),
    });
    cluster.start();
    return cluster;
  }

  #retire(cluster: UpstreamCluster): void {
    const closing = cluster.close().catch((err: unknown) => {
      this.#logger.warn({ err, cluster: cluster.name }, 'cluster did not close cleanly');
    });
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }
}
