// The etcd store: resources live under `<prefix>config/resources/<Kind>/<namespace>/<name>`, each with etcd's
// revision as its resourceVersion. Every write is one transaction that also bumps `<prefix>config/generation`
// and only commits while the generation is the one this replica planned on, so writes sent at once through
// several replicas are serialized and never lose an update; a writer whose plan went stale reads again and
// plans again (a resourceVersion it was sent may then be stale: 409). Changes made elsewhere arrive through
// the watch (etcd/mirror.ts) and are validated like a file edit: an invalid state is refused whole.
import { randomUUID } from 'node:crypto';
import { type ApplyResult, Errors, StraitError } from '@strait/api';
import {
  type ConfigIssue,
  checkReferences,
  issuesError,
  type RawDocument,
  type Resource,
  resourceContent,
  resourceKey,
  validateAll,
  validateDocument,
} from '@strait/api/resources';
import type { Logger } from 'pino';
import {
  type EtcdClient,
  EtcdCompactedError,
  EtcdIndeterminateError,
  EtcdUnavailableError,
  type KeyValue,
  prefixEnd,
  type TxnOp,
  type WatchEvent,
} from '../etcd/client.ts';
import { type MirrorHandler, newestRevision, unseen } from '../etcd/mirror.ts';
import { type Planned, type PlannedChange, planApply, planDelete } from './changes.ts';
import { readConfigDir } from './directory-store.ts';
import { ServedConfig } from './served.ts';
import type { ChangeSource, ConfigStore, ResourceRef, StoreHealth } from './types.ts';

export interface EtcdStoreOptions {
  client: EtcdClient;
  /** `<prefix>config/`. */
  prefix: string;
  /** `<prefix>ca/`: secrets (keepSecret), outside what the resource API serves. */
  secretsPrefix: string;
  /** What the store is, for messages: `etcd http://a:2379,http://b:2379`. */
  description: string;
  replica: string;
  /** Starts following etcd (lease, list, watch); called by open(). */
  start: () => Promise<void>;
  stop: () => Promise<void>;
  health: () => StoreHealth;
  /** When the store holds no configuration yet, this directory's is written to it (once, by one replica). */
  seedDir?: string;
  /** How long one write may keep trying (conflicts, a member failing over). Default 5000 ms. */
  writeDeadlineMs?: number;
  logger: Logger;
}

/** What a resource key holds: the resource as written, and where it came from (for error messages). */
interface StoredValue {
  resource: unknown;
  source?: { file?: unknown; document?: unknown };
}

/** The generation key's value: who wrote last, a token to recognise one's own write, and when. */
interface Generation {
  replica: string;
  token: string;
  at: number;
}

export class EtcdStore extends ServedConfig implements ConfigStore, MirrorHandler {
  readonly description: string;
  readonly prefix: string;
  readonly #o: EtcdStoreOptions;
  readonly #resourcePrefix: string;
  readonly #generationKey: string;
  /** The keys under the prefix as of #known. */
  #stored = new Map<string, KeyValue>();
  /** Every change up to this revision is in #stored. */
  #known = 0;
  /** The revision of each key #resources was made from (to tell whether a new state differs). */
  #servedRevisions = new Map<string, number>();
  /** Validated resources by key and revision, so unchanged keys are not validated again. */
  readonly #parsed = new Map<string, { modRevision: number; resource?: Resource; issues: ConfigIssue[] }>();
  #refusedAt = 0;

  constructor(options: EtcdStoreOptions) {
    super();
    this.#o = options;
    this.description = options.description;
    this.prefix = options.prefix;
    this.#resourcePrefix = `${options.prefix}resources/`;
    this.#generationKey = `${options.prefix}generation`;
  }

  /** Starts following etcd; writes the seed directory's configuration if etcd holds none yet. */
  async open(): Promise<void> {
    await this.#o.start();
    if (this.#o.seedDir !== undefined && !this.#stored.has(this.#generationKey))
      await this.#seed(this.#o.seedDir);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.#o.stop();
  }

  health(): StoreHealth {
    return this.#o.health();
  }

  /**
   * Creates the secret if no replica has (one transaction: the first wins), else reads it. Only the
   * control plane reaches etcd (proxies never do); with etcd's auth on, give its user this prefix alone.
   */
  async keepSecret(name: string, create: () => string): Promise<string> {
    const key = `${this.#o.secretsPrefix}${name}`;
    const existing = (await this.#o.client.range(key)).kvs[0];
    if (existing) return existing.value;
    const value = create();
    const created = await this.#o.client.txn(
      [{ key, target: 'CREATE', result: 'EQUAL', revision: 0 }],
      [{ put: { key, value } }],
      [{ range: { key } }],
    );
    return created.succeeded ? value : (created.ranges[0]?.[0]?.value ?? '');
  }

  apply(docs: readonly RawDocument[], parseIssues: readonly ConfigIssue[] = []): Promise<ApplyResult[]> {
    return this.serial(() => this.#write(() => planApply(this.served, docs, parseIssues)));
  }

  delete(refs: readonly ResourceRef[]): Promise<ApplyResult[]> {
    return this.serial(() => this.#write(() => planDelete(this.served, refs)));
  }

  // ---- following etcd (MirrorHandler)

  onList(kvs: readonly KeyValue[], revision: number): void {
    if (revision < this.#known) return;
    this.#stored = new Map(kvs.map((kv) => [kv.key, kv]));
    this.#known = revision;
    this.#derive('store');
  }

  onEvents(events: readonly WatchEvent[]): void {
    const fresh = unseen(events, this.#known);
    if (fresh.length === 0) return;
    this.#known = newestRevision(fresh, this.#known);
    for (const { type, kv } of fresh) {
      if (type === 'DELETE') this.#stored.delete(kv.key);
      else this.#stored.set(kv.key, kv);
    }
    this.#derive('store');
  }

  // ---- writing

  /**
   * Plans (again after every conflict) and commits one write. Gives up with 503 when etcd cannot take it
   * before the deadline; a write whose fate etcd left unknown is looked up before it is tried again.
   */
  async #write(plan: () => Planned): Promise<ApplyResult[]> {
    const deadline = Date.now() + (this.#o.writeDeadlineMs ?? 5000);
    let lastError = '';
    for (let attempt = 0; Date.now() < deadline || attempt === 0; attempt++) {
      const planned = plan();
      if ('issues' in planned) {
        this.events.emit('rejected', { source: 'api', issues: planned.issues });
        throw issuesError(planned.issues);
      }
      const change = planned.plan;
      if (change.upserts.length === 0 && change.removals.length === 0) return this.#answer(change, undefined);
      const token = randomUUID();
      try {
        const result = await this.#o.client.txn(
          [
            {
              key: this.#generationKey,
              target: 'MOD',
              result: 'EQUAL',
              revision: this.#generationRevision(),
            },
          ],
          this.#operations(change, token),
        );
        if (result.succeeded) {
          this.#commitLocal(change, token, result.header.revision);
          return this.#answer(change, result.header.revision);
        }
        lastError = 'another replica changed the configuration meanwhile';
        await this.#relist();
      } catch (err) {
        lastError = (err as Error).message;
        if (!(err instanceof EtcdIndeterminateError) && !(err instanceof EtcdUnavailableError)) throw err;
        // Whether it went through or not, what etcd holds now decides.
        if (await this.#relistBefore(deadline)) {
          if (this.#generation()?.token === token) return this.#answer(change, this.#generationRevision());
        } else if (err instanceof EtcdIndeterminateError) {
          throw new StraitError(
            Errors.STORE_UNAVAILABLE,
            `${this.description} did not confirm the write and cannot be read now; it may or may not have been applied (${lastError})`,
          );
        }
        await sleep(100);
      }
    }
    throw new StraitError(
      Errors.STORE_UNAVAILABLE,
      `${this.description} did not take the write: ${lastError}`,
    );
  }

  #operations(change: PlannedChange, token: string): TxnOp[] {
    const ops: TxnOp[] = [];
    for (const r of change.upserts) {
      const value: StoredValue = { resource: resourceContent(r), source: r.origin };
      ops.push({ put: { key: this.#keyOf(r), value: JSON.stringify(value) } });
    }
    for (const r of change.removals) ops.push({ deleteRange: { key: this.#keyOf(r) } });
    const generation: Generation = { replica: this.#o.replica, token, at: Date.now() };
    ops.push({ put: { key: this.#generationKey, value: JSON.stringify(generation) } });
    return ops;
  }

  /** A committed write is served at once (the watch brings it again, and it is then skipped). */
  #commitLocal(change: PlannedChange, token: string, revision: number): void {
    const generation: Generation = { replica: this.#o.replica, token, at: Date.now() };
    const kv = (key: string, value: string): KeyValue => ({
      key,
      value,
      createRevision: this.#stored.get(key)?.createRevision ?? revision,
      modRevision: revision,
      version: (this.#stored.get(key)?.version ?? 0) + 1,
      lease: '0',
    });
    for (const r of change.upserts)
      this.#stored.set(
        this.#keyOf(r),
        kv(this.#keyOf(r), JSON.stringify({ resource: resourceContent(r), source: r.origin })),
      );
    for (const r of change.removals) this.#stored.delete(this.#keyOf(r));
    this.#stored.set(this.#generationKey, kv(this.#generationKey, JSON.stringify(generation)));
    this.#known = Math.max(this.#known, revision);
    this.#derive('api', change.submitted);
  }

  #answer(change: PlannedChange, revision: number | undefined): ApplyResult[] {
    const byKey = new Map(this.served.map((r) => [resourceKey(r), r]));
    return change.results.map((result) => {
      if (result.action === 'deleted') return result;
      const version =
        byKey.get(resourceKey({ kind: result.kind, metadata: result }))?.metadata.resourceVersion ??
        (revision === undefined ? undefined : String(revision));
      return version === undefined ? result : { ...result, resourceVersion: version };
    });
  }

  /** Lists the configuration again (linearizable: everything etcd has committed). */
  async #relist(): Promise<void> {
    const { kvs, header } = await this.#o.client.range(this.prefix, prefixEnd(this.prefix));
    this.onList(kvs, header.revision);
  }

  /** Lists again, retrying until the deadline; false if etcd never answered. */
  async #relistBefore(deadline: number): Promise<boolean> {
    do {
      try {
        await this.#relist();
        return true;
      } catch (err) {
        if (!(err instanceof EtcdUnavailableError) && !(err instanceof EtcdCompactedError)) throw err;
        await sleep(200);
      }
    } while (Date.now() < deadline);
    return false;
  }

  async #seed(dir: string): Promise<void> {
    const { resources, issues } = validateAll(await readConfigDir(dir));
    if (issues.length > 0) throw issuesError(issues);
    const change: PlannedChange = {
      results: [],
      candidate: resources,
      upserts: resources,
      removals: [],
      submitted: resources,
    };
    const token = randomUUID();
    const result = await this.#o.client.txn(
      [{ key: this.#generationKey, target: 'CREATE', result: 'EQUAL', revision: 0 }],
      this.#operations(change, token),
    );
    if (result.succeeded) {
      this.#commitLocal(change, token, result.header.revision);
      this.#o.logger.info(
        { dir, resources: resources.length },
        'etcd held no configuration: wrote the seed directory’s',
      );
    } else await this.#relist();
  }

  // ---- from what etcd holds to what is served

  /**
   * Validates what etcd holds (each key once per revision) and serves it if it differs from what is served.
   * An invalid state (written around the API) is refused whole, like a bad file edit: the last good stays.
   */
  #derive(source: ChangeSource, submitted?: readonly Resource[]): void {
    const resources: Resource[] = [];
    const issues: ConfigIssue[] = [];
    const revisions = new Map<string, number>();
    for (const key of [...this.#stored.keys()].sort()) {
      if (!key.startsWith(this.#resourcePrefix)) continue;
      const kv = this.#stored.get(key) as KeyValue;
      const parsed = this.#parse(kv);
      issues.push(...parsed.issues);
      if (parsed.resource) resources.push(parsed.resource);
      revisions.set(key, kv.modRevision);
    }
    for (const key of this.#parsed.keys()) if (!this.#stored.has(key)) this.#parsed.delete(key);
    if (sameRevisions(revisions, this.#servedRevisions)) return;
    if (issues.length === 0) issues.push(...checkReferences(resources));
    if (issues.length > 0) {
      if (this.#refusedAt === this.#known) return;
      this.#refusedAt = this.#known;
      this.#o.logger.warn(
        { revision: this.#known },
        'etcd holds an invalid configuration; keeping the last good one',
      );
      this.events.emit('rejected', { source, issues });
      return;
    }
    const changed = resources.filter(
      (r) => this.#servedRevisions.get(this.#keyOf(r)) !== revisions.get(this.#keyOf(r)),
    );
    this.served = resources;
    this.#servedRevisions = revisions;
    const generation = this.#generation();
    // A change made through another replica counts from when it was made there (for convergence times).
    const at = Date.now();
    this.changedAt = source === 'store' && generation && generation.at <= at ? generation.at : at;
    this.events.emit('change', {
      source,
      at: this.changedAt,
      resources,
      submitted: submitted ?? changed,
    });
  }

  #parse(kv: KeyValue): { resource?: Resource; issues: ConfigIssue[] } {
    const cached = this.#parsed.get(kv.key);
    if (cached?.modRevision === kv.modRevision) return cached;
    const where = kv.key.slice(this.#resourcePrefix.length);
    let value: StoredValue | undefined;
    try {
      value = JSON.parse(kv.value) as StoredValue;
    } catch {
      value = undefined;
    }
    const source = value?.source;
    const origin = {
      file: typeof source?.file === 'string' ? source.file : `etcd:${where}`,
      document: typeof source?.document === 'number' ? source.document : 1,
    };
    const result = validateDocument({ origin, value: value?.resource ?? kv.value });
    const entry = { modRevision: kv.modRevision, issues: result.issues } as {
      modRevision: number;
      resource?: Resource;
      issues: ConfigIssue[];
    };
    if (result.resource) {
      const r = result.resource;
      entry.resource = { ...r, metadata: { ...r.metadata, resourceVersion: String(kv.modRevision) } };
      if (this.#keyOf(r) !== kv.key)
        entry.issues = [
          {
            error: Errors.CONFIG_INVALID,
            origin,
            kind: r.kind,
            name: r.metadata.name,
            path: 'metadata',
            message: `expected the resource stored at ${kv.key} to be named by it (found ${resourceKey(r)})`,
          },
        ];
    }
    this.#parsed.set(kv.key, entry);
    return entry;
  }

  #keyOf(r: { kind: string; metadata: { name: string; namespace: string } }): string {
    return `${this.#resourcePrefix}${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
  }

  #generation(): Generation | undefined {
    const kv = this.#stored.get(this.#generationKey);
    if (!kv) return undefined;
    try {
      return JSON.parse(kv.value) as Generation;
    } catch {
      return undefined;
    }
  }

  /** The generation key's revision in this view; 0 while it does not exist. */
  #generationRevision(): number {
    return this.#stored.get(this.#generationKey)?.modRevision ?? 0;
  }
}

function sameRevisions(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
