// The configuration store's contract: the last good set of resources, its events, and all-or-nothing writes.
// Two stores keep it: a config directory (directory-store.ts, the default) and etcd (etcd-store.ts, for
// control-plane replicas sharing one store); open.ts picks one from --store.
import type { ApplyResult } from '@strait/api';
import type { ConfigIssue, Kind, RawDocument, Resource } from '@strait/api/resources';

export interface ResourceRef {
  kind: Kind;
  name: string;
  namespace?: string;
  /** Delete only while the resource is at this version (else 409). */
  resourceVersion?: string;
}

/**
 * Where a change came from: the resource API of this replica, an edit in the config directory, the first
 * load, or the shared store (a change made through another replica, or a list after a broken watch).
 */
export type ChangeSource = 'api' | 'file' | 'startup' | 'store';

/** The store's events. Only the store emits them; others subscribe with `store.on`. */
export interface ConfigStoreEvents {
  /** A new configuration was committed: `resources` is all of it, `submitted` what the change validated. */
  change: {
    source: ChangeSource;
    at: number;
    resources: readonly Resource[];
    submitted: readonly Resource[];
  };
  /** A change was refused whole; `issues` says why (each names its file, document and field). */
  rejected: { source: ChangeSource; issues: readonly ConfigIssue[] };
}

/** How the store is doing, for /ready, the metrics and the console. */
export interface StoreHealth {
  /** What the store is, for messages: `directory /etc/strait` or `etcd http://a:2379,http://b:2379`. */
  store: string;
  /** Writes can be taken now. */
  healthy: boolean;
  /** Why not, when not healthy. */
  reason?: string;
  /** The store's revision this replica has seen everything up to (etcd only). */
  revision?: number;
  /** How many revisions this replica is behind the store (etcd only). */
  watchLagRevisions?: number;
}

export interface ConfigStore {
  /** What the store is, for messages (as in StoreHealth). */
  readonly description: string;
  /** The configuration in force. */
  readonly resources: readonly Resource[];
  /** When the configuration last changed (ms since epoch), for convergence times. */
  readonly lastChange: number;
  /** Subscribes to `change` or `rejected`; returns the function that unsubscribes. */
  on<E extends keyof ConfigStoreEvents>(
    event: E,
    listener: (payload: ConfigStoreEvents[E]) => void,
  ): () => void;
  /** Loads the configuration and starts following changes made elsewhere; throws if it cannot. */
  open(): Promise<void>;
  /** Resources of a kind (all kinds when absent), optionally one by name. */
  find(kind?: Kind, name?: string, namespace?: string): Resource[];
  /**
   * Creates or replaces resources. All or nothing: any problem refuses the whole request, including
   * `parseIssues` (documents of the request that did not even parse), which refuse it at once.
   */
  apply(docs: readonly RawDocument[], parseIssues?: readonly ConfigIssue[]): Promise<ApplyResult[]>;
  /** Deletes resources. All or nothing: a missing resource or a reference left dangling refuses it. */
  delete(refs: readonly ResourceRef[]): Promise<ApplyResult[]>;
  health(): StoreHealth;
  /**
   * A blob only the control plane reads, never served by the API: the place of the mesh CA's key and root
   * (the zero-trust issue). The first replica to ask creates it with `create`; every replica then gets the
   * same one, so all of them can sign with the shared key.
   */
  keepSecret(name: string, create: () => string): Promise<string>;
  /** Stops following changes. */
  close(): Promise<void>;
}
