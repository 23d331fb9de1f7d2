// The snapshot cache: what each proxy should run. The mesh is indexed once per generation (a configuration
// or registry change starts a new one), each proxy is translated at most once per generation, sharing the
// parts proxies have in common, and every config is split into versioned discovery resources.
import type { DiscoveryResource, NodeInfo } from '@strait/api';
import { splitSnapshot } from '@strait/api';
import type { Resource } from '@strait/api/resources';
import type { Logger } from 'pino';
import { indexMesh, type MeshSecurity } from '../translate/mesh-index.ts';
import { SharedTranslation, snapshotFor, type VersionedSnapshot } from '../translate/snapshot.ts';
import type { PushMetrics } from './push-metrics.ts';

/** One proxy's wanted config: the snapshot, and the same as resources with the snapshot's version. */
export interface ProxyConfig {
  version: string;
  snapshot: VersionedSnapshot;
  resources: readonly DiscoveryResource[];
}

export interface SnapshotCacheOptions {
  /** The configuration in force. */
  resources: () => readonly Resource[];
  /** The proxies in the registry. */
  proxies: () => readonly NodeInfo[];
  /** Set when the control plane runs the mesh's CA (mesh hops are then mutual TLS). */
  security?: MeshSecurity | undefined;
  metrics: PushMetrics;
  logger: Logger;
}

export class SnapshotCache {
  readonly #o: SnapshotCacheOptions;
  #translation: SharedTranslation | undefined;
  #generation = 0;
  /** This generation's configs, by proxy id (with the node they were made for). */
  readonly #configs = new Map<string, { node: NodeInfo; config: ProxyConfig }>();
  /** The last config each proxy could be given, kept for when its translation fails. */
  readonly #lastGood = new Map<string, ProxyConfig>();

  constructor(options: SnapshotCacheOptions) {
    this.#o = options;
  }

  /** Counts configuration and registry changes: a config is current while its generation is. */
  get generation(): number {
    return this.#generation;
  }

  /** The configuration or the registry changed: every config is made again when next asked for. */
  invalidate(): void {
    this.#translation = undefined;
    this.#configs.clear();
    this.#generation++;
  }

  /**
   * What `node` should run. If its translation fails (a bug, counted as an internal error and logged), the
   * last config it could be given; undefined when there is none.
   */
  wanted(node: NodeInfo): ProxyConfig | undefined {
    const cached = this.#configs.get(node.id);
    if (cached?.node === node) return cached.config;
    let config: ProxyConfig;
    try {
      const snapshot = snapshotFor(this.#shared().index, node, this.#shared());
      config = { version: snapshot.version, snapshot, resources: splitSnapshot(snapshot) };
    } catch (err) {
      this.#o.metrics.internalError();
      this.#o.logger.error({ err, proxy: node.id }, 'translation failed; the proxy keeps the config it has');
      return this.#lastGood.get(node.id);
    }
    this.#configs.set(node.id, { node, config });
    this.#lastGood.set(node.id, config);
    return config;
  }

  /** Forgets a proxy that left for good. */
  forget(id: string): void {
    this.#configs.delete(id);
    this.#lastGood.delete(id);
  }

  #shared(): SharedTranslation {
    if (!this.#translation) {
      const started = performance.now();
      const index = indexMesh({
        resources: this.#o.resources(),
        proxies: this.#o.proxies(),
        security: this.#o.security,
      });
      this.#translation = new SharedTranslation(index);
      this.#o.metrics.contextBuilt(
        (performance.now() - started) / 1000,
        index.services.size + index.externals.size,
      );
    }
    return this.#translation;
  }
}
