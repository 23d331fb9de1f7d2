// The directory store (the default, for `npm start`): the configuration is every YAML file in one
// directory, changed by the resource API (validated whole, persisted atomically, other documents and their
// comments kept) or by direct edits to the files (watched). A resource's resourceVersion is a hash of it.
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ApplyResult, canonicalJson, Errors, StraitError } from '@strait/api';
import {
  type ConfigIssue,
  issuesError,
  type RawDocument,
  type Resource,
  resourceContent,
  resourceKey,
  validateAll,
} from '@strait/api/resources';
import { Document, parseAllDocuments } from 'yaml';
import { type Planned, type PlannedChange, planApply, planDelete } from './changes.ts';
import { isTempName, removeFileDurably, resourceFileName, writeFileAtomic } from './persist.ts';
import { ServedConfig } from './served.ts';
import type { ChangeSource, ConfigStore, ResourceRef, StoreHealth } from './types.ts';
import { watchConfigDir } from './watch.ts';

export interface DirectoryStoreOptions {
  /** Follow direct edits of the files. Default true. */
  watch?: boolean;
  /** Told when re-reading the directory after an edit failed (it keeps serving what it has). */
  onReadError?: (err: unknown) => void;
}

export class DirectoryStore extends ServedConfig implements ConfigStore {
  readonly dir: string;
  readonly description: string;
  readonly #options: DirectoryStoreOptions;
  #files = new Map<string, string>();
  #stopWatch: (() => void) | undefined;

  constructor(dir: string, options: DirectoryStoreOptions = {}) {
    super();
    this.dir = dir;
    this.description = `directory ${dir}`;
    this.#options = options;
  }

  /** Loads the directory (throws, with every issue, if it is not valid) and watches it. */
  async open(): Promise<void> {
    await this.load();
    if (this.#options.watch === false || this.#stopWatch) return;
    this.#stopWatch = watchConfigDir(this.dir, () => {
      this.reload().catch((err: unknown) => this.#options.onReadError?.(err));
    });
  }

  /** Loads the directory; throws (with every issue) if it is not valid. */
  async load(): Promise<void> {
    const files = await readConfigDir(this.dir);
    const { resources, issues } = validateAll(files);
    if (issues.length > 0) {
      this.events.emit('rejected', { source: 'startup', issues });
      throw issuesError(issues);
    }
    this.#commit('startup', files, resources, resources);
  }

  health(): StoreHealth {
    return { store: this.description, healthy: true };
  }

  /** Kept as `.strait-secret-<name>` in the directory, mode 0600 (the loader and watcher skip dot files). */
  async keepSecret(name: string, create: () => string): Promise<string> {
    const file = join(this.dir, `.strait-secret-${name}`);
    try {
      await writeFile(file, create(), { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return readFile(file, 'utf8');
  }

  async close(): Promise<void> {
    this.#stopWatch?.();
    this.#stopWatch = undefined;
    await this.idle();
  }

  /** Re-reads the directory (after a direct edit). Returns the issues if the new content was refused. */
  reload(): Promise<ConfigIssue[]> {
    return this.serial(async () => {
      const files = await readConfigDir(this.dir);
      if (sameFiles(files, this.#files)) return [];
      const { resources, issues } = validateAll(files);
      if (issues.length > 0) {
        this.events.emit('rejected', { source: 'file', issues });
        return issues;
      }
      this.#commit('file', files, resources, changedResources(this.served, resources));
      return [];
    });
  }

  apply(docs: readonly RawDocument[], parseIssues: readonly ConfigIssue[] = []): Promise<ApplyResult[]> {
    return this.serial(() => this.#write(planApply(this.served, docs, parseIssues)));
  }

  delete(refs: readonly ResourceRef[]): Promise<ApplyResult[]> {
    return this.serial(() => this.#write(planDelete(this.served, refs)));
  }

  async #write(planned: Planned): Promise<ApplyResult[]> {
    if ('issues' in planned) {
      this.events.emit('rejected', { source: 'api', issues: planned.issues });
      throw issuesError(planned.issues);
    }
    const { plan } = planned;
    const edits = this.#editsFor(plan);
    if (edits.size > 0) await this.#persist(edits, plan.submitted);
    const byKey = new Map(this.served.map((r) => [resourceKey(r), r]));
    return plan.results.map((result) => {
      const version = byKey.get(resourceKey({ kind: result.kind, metadata: result }))?.metadata
        .resourceVersion;
      return result.action === 'deleted' || version === undefined
        ? result
        : { ...result, resourceVersion: version };
    });
  }

  /** Which file each created, changed or deleted resource goes to. */
  #editsFor(plan: PlannedChange): Map<string, FileEdit> {
    const edits = new Map<string, FileEdit>();
    const byKey = new Map(this.served.map((r) => [resourceKey(r), r]));
    for (const resource of plan.upserts) {
      const existing = byKey.get(resourceKey(resource));
      if (existing) editFor(edits, existing.origin.file).replaced.set(resourceKey(resource), resource);
      else editFor(edits, this.#fileFor(resource)).appended.push(resource);
    }
    for (const resource of plan.removals)
      editFor(edits, resource.origin.file).removed.add(resourceKey(resource));
    return edits;
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
        this.served.filter((r) => r.origin.file === file),
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
    this.served = resources.map(withContentVersion);
    this.changedAt = Date.now();
    this.events.emit('change', { source, at: this.changedAt, resources: this.served, submitted });
  }
}

/** Resources of a kind (all kinds when absent), optionally one by name and namespace. */

/** A directory has no revisions: a resource's version is a hash of its content, the same after a restart. */
function withContentVersion(r: Resource): Resource {
  const hash = createHash('sha256')
    .update(canonicalJson(resourceContent(r)))
    .digest('hex')
    .slice(0, 16);
  return { ...r, metadata: { ...r.metadata, resourceVersion: hash } };
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
      parts.push(replacement ? new Document(resourceContent(replacement)).toString() : doc.toString());
    }
  } else {
    // A file holding lists is rewritten from its resources.
    for (const r of current) {
      const key = resourceKey(r);
      if (edit.removed.has(key)) continue;
      parts.push(new Document(resourceContent(edit.replaced.get(key) ?? r)).toString());
    }
  }
  for (const r of edit.appended) parts.push(new Document(resourceContent(r)).toString());
  if (parts.length === 0) return undefined;
  return parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('---\n');
}

/** The resources of `next` that are new or differ from `previous` (what an edit of the files changed). */
function changedResources(previous: readonly Resource[], next: readonly Resource[]): Resource[] {
  const before = new Map(previous.map((r) => [resourceKey(r), canonicalJson(resourceContent(r))]));
  return next.filter((r) => before.get(resourceKey(r)) !== canonicalJson(resourceContent(r)));
}

function keyOfRaw(value: Record<string, unknown>): string | undefined {
  const metadata = value.metadata as { name?: unknown; namespace?: unknown } | undefined;
  if (typeof value.kind !== 'string' || typeof metadata?.name !== 'string') return undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
  return resourceKey({ kind: value.kind, metadata: { name: metadata.name, namespace } });
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
