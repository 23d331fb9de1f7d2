// What the console tells about configuration over time: which revision is in force (counted from the
// control plane's start, with a content digest) and every refused change with its file, field and reason.
import { createHash } from 'node:crypto';
import { canonicalJson, type IssueView, type RejectionView } from '@strait/api';
import { type ConfigIssue, plainResource, type Resource } from '@strait/api/resources';
import type { ConfigStore } from '../config/types.ts';

const KEEP_REJECTIONS = 20;

export class ConfigHistory {
  #revision = 0;
  #digest = '';
  #appliedAt = new Date();
  readonly #rejections: RejectionView[] = [];
  readonly #detach: () => void;
  /** Called after every change or refusal (the console pushes a fresh state). */
  onUpdate: () => void = () => {};

  /** Follows the store's `change` and `rejected` events. */
  constructor(store: Pick<ConfigStore, 'on'>, current: readonly Resource[]) {
    if (current.length > 0) this.#commit(current);
    const offChange = store.on('change', ({ resources }) => {
      this.#commit(resources);
      this.onUpdate();
    });
    const offRejected = store.on('rejected', ({ source, issues }) => {
      this.#rejections.unshift({
        at: new Date().toISOString(),
        source,
        issues: issues.map(issueView),
        keptRevision: this.#revision,
      });
      this.#rejections.length = Math.min(this.#rejections.length, KEEP_REJECTIONS);
      this.onUpdate();
    });
    this.#detach = () => {
      offChange();
      offRejected();
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
