// What both configuration stores share: the configuration in force, when it last changed, the store's
// events, lookups, and their writes taken one at a time.
import type { Kind, Resource } from '@strait/api/resources';
import { Emitter } from '../events/emitter.ts';
import type { ConfigStoreEvents } from './types.ts';

export abstract class ServedConfig {
  protected readonly events = new Emitter<ConfigStoreEvents>();
  /** The configuration in force. */
  protected served: Resource[] = [];
  /** When it last changed (ms since epoch). */
  protected changedAt = Date.now();
  #queue: Promise<unknown> = Promise.resolve();

  /** Subscribes to `change` or `rejected`; returns the function that unsubscribes. */
  on<E extends keyof ConfigStoreEvents>(
    event: E,
    listener: (payload: ConfigStoreEvents[E]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  get resources(): readonly Resource[] {
    return this.served;
  }

  get lastChange(): number {
    return this.changedAt;
  }

  find(kind?: Kind, name?: string, namespace?: string): Resource[] {
    return findResources(this.served, kind, name, namespace);
  }

  /** Runs `task` after every task queued before it, whether they succeeded or not. */
  protected serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Settles once every queued task has. */
  protected idle(): Promise<unknown> {
    return this.#queue;
  }
}

/** Resources of a kind (all kinds when absent), optionally one by name and namespace. */
function findResources(
  resources: readonly Resource[],
  kind?: Kind,
  name?: string,
  namespace?: string,
): Resource[] {
  return resources.filter(
    (r) =>
      (kind === undefined || r.kind === kind) &&
      (name === undefined || r.metadata.name === name) &&
      (namespace === undefined || r.metadata.namespace === namespace),
  );
}
