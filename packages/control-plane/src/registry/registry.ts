// The service registry: proxies that connected to the discovery stream. A sidecar is an endpoint of
// its service; a proxy that disconnects stays for a grace period, so a blip (or a control-plane
// restart, via the optional state file) does not pull endpoints out from under live traffic. With
// replicas, registrations are shared through the store: every replica sees the proxies of all.
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { canonicalJson, type NodeInfo, NodeInfoSchema } from '@strait/api';
import { writeFileAtomic } from '../config/persist.ts';
import { Emitter } from '../events/emitter.ts';
import type { SharedRegistrations } from './shared.ts';

export interface RegistryOptions {
  /** How long a disconnected proxy stays registered. */
  graceMs: number;
  /** Where registrations are kept across restarts (optional; not with shared registrations). */
  stateFile?: string;
  /** Registrations shared with other replicas (the etcd store's). */
  shared?: SharedRegistrations;
}

interface Entry {
  node: NodeInfo;
  connected: boolean;
  removal?: NodeJS.Timeout;
}

/**
 * Why the registry changed: a proxy came or changed its description, left for good, came from the state file,
 * or the registrations shared by the replicas changed.
 */
export type RegistryChangeReason = 'registered' | 'removed' | 'restored' | 'shared';

/** The registry's events. Only the registry emits them; others subscribe with `registry.on`. */
export interface RegistryEvents {
  /** The set of registered proxies, or one proxy's description, changed. */
  change: { reason: RegistryChangeReason; at: number };
}

export class Registry {
  readonly #events = new Emitter<RegistryEvents>();
  readonly #options: RegistryOptions;
  readonly #entries = new Map<string, Entry>();
  #saveTimer: NodeJS.Timeout | undefined;
  #saving: Promise<void> = Promise.resolve();
  /** `nodes()` as last computed; dropped on every change (a crowd of connects asks for it often). */
  #sorted: NodeInfo[] | undefined;

  constructor(options: RegistryOptions) {
    this.#options = options;
    options.shared?.onChange(() => {
      this.#sorted = undefined;
      this.#events.emit('change', { reason: 'shared', at: Date.now() });
    });
  }

  /** Subscribes to `change`; returns the function that unsubscribes. */
  on<E extends keyof RegistryEvents>(event: E, listener: (payload: RegistryEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Registered proxies (connected, or disconnected within the grace period), sorted by id. With replicas,
   * also those registered through the others; a proxy connected here is described as it told this replica.
   */
  nodes(): NodeInfo[] {
    if (!this.#sorted) {
      const byId = new Map<string, NodeInfo>();
      for (const [id, { node }] of this.#options.shared?.all() ?? []) byId.set(id, node);
      for (const [id, entry] of this.#entries) if (entry.connected || !byId.has(id)) byId.set(id, entry.node);
      this.#sorted = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }
    return this.#sorted.slice();
  }

  /** The replica a proxy registered through, when registrations are shared. */
  replicaOf(id: string): string | undefined {
    return this.#options.shared?.all().get(id)?.replica;
  }

  isConnected(id: string): boolean {
    return this.#entries.get(id)?.connected ?? false;
  }

  connect(node: NodeInfo): void {
    const entry = this.#entries.get(node.id);
    if (entry?.removal) clearTimeout(entry.removal);
    const changed = !entry || canonicalJson(entry.node) !== canonicalJson(node);
    this.#entries.set(node.id, { node, connected: true });
    this.#sorted = undefined;
    this.#options.shared?.publish(node);
    if (changed) this.#changed('registered');
  }

  /** The proxy's stream closed: it leaves after the grace period unless it comes back. */
  disconnect(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry?.connected) return;
    entry.connected = false;
    this.#options.shared?.release(id);
    this.#scheduleRemoval(id, entry);
  }

  #scheduleRemoval(id: string, entry: Entry): void {
    if (entry.removal) clearTimeout(entry.removal);
    entry.removal = setTimeout(() => {
      if (this.#entries.get(id) !== entry || entry.connected) return;
      this.#entries.delete(id);
      this.#sorted = undefined;
      this.#options.shared?.withdraw(id);
      this.#changed('removed');
    }, this.#options.graceMs);
    entry.removal.unref();
  }

  /** Loads registrations saved by a previous run; each gets a fresh grace period to reconnect. */
  async restore(): Promise<number> {
    const file = this.#options.stateFile;
    if (!file) return 0;
    let saved: unknown;
    try {
      saved = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      return 0;
    }
    let count = 0;
    for (const item of Array.isArray(saved) ? saved : []) {
      const parsed = NodeInfoSchema.safeParse(item);
      if (!parsed.success || this.#entries.has(parsed.data.id)) continue;
      const entry: Entry = { node: parsed.data, connected: false };
      this.#entries.set(parsed.data.id, entry);
      this.#sorted = undefined;
      this.#scheduleRemoval(parsed.data.id, entry);
      count++;
    }
    if (count > 0) this.#events.emit('change', { reason: 'restored', at: Date.now() });
    return count;
  }

  #changed(reason: RegistryChangeReason): void {
    this.#events.emit('change', { reason, at: Date.now() });
    this.#scheduleSave();
  }

  #scheduleSave(): void {
    const file = this.#options.stateFile;
    if (!file || this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      const text = `${JSON.stringify(this.nodes(), null, 2)}\n`;
      this.#saving = this.#saving
        .then(() => writeFileAtomic(dirname(file), basename(file), text))
        .catch(() => {
          // Losing the saved registry only costs a slower recovery after a restart.
        });
    }, 200);
    this.#saveTimer.unref();
  }

  /** Stops timers and waits for a pending save. */
  async close(): Promise<void> {
    for (const entry of this.#entries.values()) if (entry.removal) clearTimeout(entry.removal);
    if (this.#saveTimer) {
      clearTimeout(this.#saveTimer);
      this.#saveTimer = undefined;
      const file = this.#options.stateFile;
      if (file) {
        const text = `${JSON.stringify(this.nodes(), null, 2)}\n`;
        this.#saving = this.#saving
          .then(() => writeFileAtomic(dirname(file), basename(file), text))
          .catch(() => {});
      }
    }
    await this.#saving;
  }
}
