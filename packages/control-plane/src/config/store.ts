// The configuration store: the last good set of resources, loaded from the config directory, changed by
// the resource API (validated whole, persisted atomically) or by direct edits to the files (watched).
import { readdir, readFile } from 'node:fs/promises';
import { type ApplyResult, canonicalJson, Errors, StraitError } from '@strait/api';
import {
  type ConfigIssue,
  checkReferences,
  issuesError,
  type Kind,
  plainResource,
  type RawDocument,
  type Resource,
  resourceKey,
  validateAll,
  validateDocument,
} from '@strait/api/resources';
import { Document, parseAllDocuments } from 'yaml';
import { Emitter } from '../events/emitter.ts';
import { isTempName, removeFileDurably, resourceFileName, writeFileAtomic } from './persist.ts';

export interface ResourceRef {
  kind: Kind;
  name: string;
  namespace?: string;
}

/** Where a change came from: the resource API, an edit in the config directory, or the first load. */
export type ChangeSource = 'api' | 'file' | 'startup';

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

export class ConfigStore {
  readonly dir: string;
  #files = new Map<string, string>();
  #resources: Resource[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #lastChange = Date.now();
  readonly #events = new Emitter<ConfigStoreEvents>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Subscribes to `change` or `rejected`; returns the function that unsubscribes. */
  on<E extends keyof ConfigStoreEvents>(
    event: E,
    listener: (payload: ConfigStoreEvents[E]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  get resources(): readonly Resource[] {
    return this.#resources;
  }

  /** When the configuration last changed (ms since epoch), for convergence times. */
  get lastChange(): number {
    return this.#lastChange;
  }

  /** Loads the directory; throws (with every issue) if it is not valid. */
  async load(): Promise<void> {
    const files = await readConfigDir(this.dir);
    const { resources, issues } = validateAll(files);
    if (issues.length > 0) {
      this.#events.emit('rejected', { source: 'startup', issues });
      throw issuesError(issues);
    }
    this.#commit('startup', files, resources, resources);
  }

  /** Resources of a kind (all kinds when absent), optionally one by name. */
  find(kind?: Kind, name?: string, namespace?: string): Resource[] {
    return this.#resources.filter(
      (r) =>
        (kind === undefined || r.kind === kind) &&
        (name === undefined || r.metadata.name === name) &&
        (namespace === undefined || r.metadata.namespace === namespace),
    );
  }

  /** Re-reads the directory (after a direct edit). Returns the issues if the new content was refused. */
  reload(): Promise<ConfigIssue[]> {
    return this.#serial(async () => {
      const files = await readConfigDir(this.dir);
      if (sameFiles(files, this.#files)) return [];
      const { resources, issues } = validateAll(files);
      if (issues.length > 0) {
        this.#events.emit('rejected', { source: 'file', issues });
        return issues;
      }
      this.#commit('file', files, resources, changedResources(this.#resources, resources));
      return [];
    });
  }

  /**
   * Creates or replaces resources. All or nothing: any problem refuses the whole request, including
   * `parseIssues` (documents of the request that did not even parse), which refuse it at once.
   */
  apply(docs: readonly RawDocument[], parseIssues: readonly ConfigIssue[] = []): Promise<ApplyResult[]> {
    return this.#serial(async () => {
      if (parseIssues.length > 0) return this.#refuse([...parseIssues]);
      const submitted: Resource[] = [];
      const issues: ConfigIssue[] = [];
      for (const doc of docs) {
        const result = validateDocument(doc);
        issues.push(...result.issues);
        if (result.resource) submitted.push(result.resource);
      }
      if (issues.length === 0 && submitted.length === 0)
        throw new StraitError(Errors.BAD_REQUEST, 'no resources in the request');
      if (issues.length === 0) issues.push(...duplicatesIn(submitted));
      if (issues.length > 0) return this.#refuse(issues);

      const byKey = new Map(this.#resources.map((r) => [resourceKey(r), r]));
      const results: ApplyResult[] = [];
      const candidate = [...this.#resources];
      const edits = new Map<string, FileEdit>();
      for (const resource of submitted) {
        const key = resourceKey(resource);
        const existing = byKey.get(key);
        const ref = {
          kind: resource.kind,
          name: resource.metadata.name,
          namespace: resource.metadata.namespace,
        };
        if (!existing) {
          candidate.push(resource);
          const file = this.#fileFor(resource);
          editFor(edits, file).appended.push(resource);
          results.push({ ...ref, action: 'created' });
          continue;
        }
        const same = canonicalJson(plainResource(existing)) === canonicalJson(plainResource(resource));
        results.push({ ...ref, action: same ? 'unchanged' : 'configured' });
        if (same) continue;
        candidate[candidate.indexOf(existing)] = resource;
        editFor(edits, existing.origin.file).replaced.set(key, resource);
      }
      const refIssues = checkReferences(candidate);
      if (refIssues.length > 0) return this.#refuse(refIssues);
      if (edits.size > 0) await this.#persist(edits, submitted);
      return results;
    });
  }

  /** Deletes resources. All or nothing: a missing resource or a reference left dangling refuses it. */
  delete(refs: readonly ResourceRef[]): Promise<ApplyResult[]> {
    return this.#serial(async () => {
      const results: ApplyResult[] = [];
      const missing: string[] = [];
      const removed = new Set<Resource>();
      const edits = new Map<string, FileEdit>();
      for (const ref of refs) {
        const namespace = ref.namespace ?? 'default';
        const found = this.#resources.find(
          (r) => r.kind === ref.kind && r.metadata.name === ref.name && r.metadata.namespace === namespace,
        );
        if (!found) {
          missing.push(`${ref.kind} "${ref.name}" in namespace ${namespace}`);
          continue;
        }
        if (removed.has(found)) continue;
        removed.add(found);
        editFor(edits, found.origin.file).removed.add(resourceKey(found));
        results.push({ kind: found.kind, name: found.metadata.name, namespace, action: 'deleted' });
      }
      if (missing.length > 0) throw new StraitError(Errors.NOT_FOUND, `no ${missing.join(', no ')}`);
      const candidate = this.#resources.filter((r) => !removed.has(r));
      const refIssues = checkReferences(candidate);
      if (refIssues.length > 0) return this.#refuse(refIssues);
      if (edits.size > 0) await this.#persist(edits, []);
      return results;
    });
  }

  #refuse(issues: ConfigIssue[]): never {
    this.#events.emit('rejected', { source: 'api', issues });
    throw issuesError(issues);
  }

  #fileFor(resource: Resource): string {
    return resourceFileName(resource.kind, resource.metadata.name, resource.metadata.namespace);
  }

  /** Writes every edited file, then commits the result as the new configuration. */
  async #persist(edits: Map<string, FileEdit>, submitted: readonly Resource[]): Promise<void> {
    const files = new Map(this.#files);
    const deletions: string[] = [];
    for (const [file, edit] of edits) {
      const text = applyEdit(
        files.get(file),
        edit,
        this.#resources.filter((r) => r.origin.file === file),
      );
      if (text === undefined) {
        files.delete(file);
        deletions.push(file);
      } else files.set(file, text);
    }
    const { resources, issues } = validateAll(files);
    if (issues.length > 0) {
      // Should not happen: the candidate was validated. Refuse rather than write something unreadable.
      throw new StraitError(Errors.PERSIST_FAILED, issues.map((i) => i.message).join('; '));
    }
    try {
      for (const file of edits.keys()) {
        const text = files.get(file);
        if (text !== undefined) await writeFileAtomic(this.dir, file, text);
      }
      for (const file of deletions) await removeFileDurably(this.dir, file);
    } catch (err) {
      throw new StraitError(Errors.PERSIST_FAILED, (err as Error).message, { cause: err });
    }
    this.#commit('api', files, resources, submitted);
  }

  #commit(
    source: ChangeSource,
    files: Map<string, string>,
    resources: Resource[],
    submitted: readonly Resource[],
  ): void {
    this.#files = files;
    this.#resources = resources;
    this.#lastChange = Date.now();
    this.#events.emit('change', { source, at: this.#lastChange, resources, submitted });
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => {});
    return run;
  }
}

interface FileEdit {
  replaced: Map<string, Resource>;
  removed: Set<string>;
  appended: Resource[];
}

function editFor(edits: Map<string, FileEdit>, file: string): FileEdit {
  let edit = edits.get(file);
  if (!edit) {
    edit = { replaced: new Map(), removed: new Set(), appended: [] };
    edits.set(file, edit);
  }
  return edit;
}

/** The file's new text (comments in untouched documents survive), or undefined if nothing is left. */
function applyEdit(text: string | undefined, edit: FileEdit, current: Resource[]): string | undefined {
  const parts: string[] = [];
  const docs = text === undefined ? [] : parseAllDocuments(text);
  const simple = docs.every((d) => {
    const value: unknown = d.toJS();
    return (
      value === null ||
      (typeof value === 'object' && !Array.isArray(value) && !('items' in (value as object)))
    );
  });
  if (simple) {
    for (const doc of docs) {
      const value = doc.toJS() as Record<string, unknown> | null;
      if (value === null) continue;
      const key = keyOfRaw(value);
      if (key !== undefined && edit.removed.has(key)) continue;
      const replacement = key === undefined ? undefined : edit.replaced.get(key);
      parts.push(replacement ? new Document(plainResource(replacement)).toString() : doc.toString());
    }
  } else {
    // A file holding lists is rewritten from its resources.
    for (const r of current) {
      const key = resourceKey(r);
      if (edit.removed.has(key)) continue;
      parts.push(new Document(plainResource(edit.replaced.get(key) ?? r)).toString());
    }
  }
  for (const r of edit.appended) parts.push(new Document(plainResource(r)).toString());
  if (parts.length === 0) return undefined;
  return parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('---\n');
}

/** The resources of `next` that are new or differ from `previous` (what an edit of the files changed). */
function changedResources(previous: readonly Resource[], next: readonly Resource[]): Resource[] {
  const before = new Map(previous.map((r) => [resourceKey(r), canonicalJson(plainResource(r))]));
  return next.filter((r) => before.get(resourceKey(r)) !== canonicalJson(plainResource(r)));
}

function keyOfRaw(value: Record<string, unknown>): string | undefined {
  const metadata = value.metadata as { name?: unknown; namespace?: unknown } | undefined;
  if (typeof value.kind !== 'string' || typeof metadata?.name !== 'string') return undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
  return resourceKey({ kind: value.kind, metadata: { name: metadata.name, namespace } });
}

function duplicatesIn(resources: Resource[]): ConfigIssue[] {
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const r of resources) {
    const key = resourceKey(r);
    if (seen.has(key))
      issues.push({
        error: Errors.CONFIG_INVALID,
        origin: r.origin,
        kind: r.kind,
        name: r.metadata.name,
        path: 'metadata.name',
        message: `expected a unique name; ${r.kind} "${r.metadata.name}" appears twice in the request`,
      });
    seen.add(key);
  }
  return issues;
}

/** Every *.yaml / *.yml file directly in the directory (temp and hidden files skipped). */
export async function readConfigDir(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const names = await readdir(dir);
  for (const name of names.sort()) {
    if (isTempName(name) || !/\.ya?ml$/i.test(name)) continue;
    try {
      files.set(name, await readFile(`${dir}/${name}`, 'utf8'));
    } catch (err) {
      if (
        (err as NodeJS.ErrnoException).code !== 'ENOENT' &&
        (err as NodeJS.ErrnoException).code !== 'EISDIR'
      )
        throw err;
    }
  }
  return files;
}

function sameFiles(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
