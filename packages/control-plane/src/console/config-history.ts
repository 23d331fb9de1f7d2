// What the console tells about configuration over time: which revision is in force (counted from the
// control plane's start, with a content digest) and every refused change with its file, field and reason.
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { canonicalJson, type IssueView, type RejectionView } from '@strait/api';
import type { ConfigIssue } from '../config/load.ts';
import { plainResource } from '../config/load.ts';
import type { Resource } from '../config/schemas.ts';

const KEEP_REJECTIONS = 20;

export class ConfigHistory {
  #revision = 0;
  #digest = '';
  #appliedAt = new Date();
  readonly #rejections: RejectionView[] = [];
  readonly #detach: () => void;
  /** Called after every change or refusal (the console pushes a fresh state). */
  onUpdate: () => void = () => {};

  /** `store` emits ConfigStore's `change` (resources) and `rejected` (source, issues) events. */
  constructor(store: EventEmitter, current: readonly Resource[]) {
    if (current.length > 0) this.#commit(current);
    const onChange = (resources: Resource[]) => {
      this.#commit(resources);
      this.onUpdate();
    };
    const onRejected = (source: string, issues: ConfigIssue[]) => {
      this.#rejections.unshift({
        at: new Date().toISOString(),
        source,
        issues: issues.map(issueView),
        keptRevision: this.#revision,
      });
      this.#rejections.length = Math.min(this.#rejections.length, KEEP_REJECTIONS);
      this.onUpdate();
    };
    store.on('change', onChange);
    store.on('rejected', onRejected);
    this.#detach = () => {
      store.off('change', onChange);
      store.off('rejected', onRejected);
    };
  }

  #commit(resources: readonly Resource[]): void {
    const digest = digestOf(resources);
    if (digest === this.#digest) return;
    this.#revision++;
    this.#digest = digest;
    this.#appliedAt = new Date();
  }

  get revision(): number {
    return this.#revision;
  }

  get digest(): string {
    return this.#digest;
  }

  get appliedAt(): Date {
    return this.#appliedAt;
  }

  rejections(): RejectionView[] {
    return [...this.#rejections];
  }

  close(): void {
    this.#detach();
  }
}

export function issueView(issue: ConfigIssue): IssueView {
  const view: IssueView = {
    code: issue.error.code,
    file: issue.origin.file,
    document: issue.origin.document,
    path: issue.path,
    message: issue.message,
  };
  if (issue.kind) view.kind = issue.kind;
  if (issue.name) view.name = issue.name;
  return view;
}

function digestOf(resources: readonly Resource[]): string {
  const text = canonicalJson(resources.map(plainResource));
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
