// The discovery resources a proxy holds, and the all-or-nothing step from a delta to the next snapshot:
// each resource checked against its schema, the set assembled and checked whole, or the resources at fault
// named (for a per-resource NACK) while what is held stays as it was.
import {
  assembleSnapshot,
  checkSnapshot,
  type DeltaMessage,
  type DiscoveryResource,
  type DiscoveryResourceRef,
  describeIssues,
  discoveryKey,
  type RejectedResource,
  type ResourceVersion,
  resourceIssues,
  type Snapshot,
  splitSnapshot,
  versionOfResources,
} from '@strait/api';

/** A delta that checked out: the snapshot to apply, and the state to keep once it is applied. */
export interface PreparedDelta {
  snapshot: Snapshot;
  resources: ReadonlyMap<string, DiscoveryResource>;
  version: string;
  /** The resource a field path of `snapshot` (as in an apply error) came from. */
  resourceAt(path: string): DiscoveryResourceRef | undefined;
}

/** Why a delta cannot be applied; `rejected` names the resources at fault when they are known. */
export interface RefusedDelta {
  error: string;
  rejected: RejectedResource[];
}

export class ResourceState {
  #resources: ReadonlyMap<string, DiscoveryResource>;
  #version: string | undefined;

  constructor(resources: ReadonlyMap<string, DiscoveryResource> = new Map(), version?: string) {
    this.#resources = resources;
    this.#version = version;
  }

  /** The state of a proxy started from a snapshot file: its resources, versioned by content. */
  static fromSnapshot(snapshot: Snapshot): ResourceState {
    const resources = new Map(splitSnapshot(snapshot).map((r) => [discoveryKey(r), r]));
    return new ResourceState(resources, snapshot.version);
  }

  /** The version of the snapshot in force, if any. */
  get version(): string | undefined {
    return this.#version;
  }

  /** What this proxy holds, to tell the control plane when a stream opens. */
  versions(): ResourceVersion[] {
    return [...this.#resources.values()].map(({ type, name, version }) => ({ type, name, version }));
  }

  /** Works out the snapshot a delta leads to, changing nothing held. */
  prepare(delta: DeltaMessage): { prepared: PreparedDelta } | { refused: RefusedDelta } {
    const next = new Map(delta.full ? [] : this.#resources);
    for (const ref of delta.removed) next.delete(discoveryKey(ref));
    const rejected: RejectedResource[] = [];
    for (const r of delta.resources) {
      const issues = resourceIssues(r.type, r.resource);
      if (issues.length > 0) {
        rejected.push({ type: r.type, name: r.name, error: describeIssues(issues) });
        continue;
      }
      next.set(discoveryKey(r), r);
    }
    if (rejected.length > 0) return refuse('resources failed validation', rejected);

    const version = versionOfResources(next.values());
    if (version !== delta.version)
      return refuse(
        `the delta does not apply to what this proxy holds (${this.#version ?? 'nothing'}): ` +
          `it leads to ${version}, not ${delta.version}`,
        [],
      );
    const built = assembleSnapshot(delta.version, next.values());
    if (!built.assembled)
      return refuse(
        'resources do not make a snapshot',
        built.issues.map((i) => ({ ...i.ref, error: i.message })),
      );
    const { snapshot: input, resourceAt } = built.assembled;
    const checked = checkSnapshot(input);
    if (!checked.snapshot) {
      const byResource = new Map<string, RejectedResource>();
      for (const issue of checked.issues) {
        const ref = resourceAt(issue.path);
        if (!ref) continue;
        const key = discoveryKey(ref);
        const line = `${issue.path}: ${issue.message}`;
        const entry = byResource.get(key);
        if (entry) entry.error += `\n${line}`;
        else byResource.set(key, { ...ref, error: line });
      }
      return refuse(`snapshot is invalid\n${describeIssues(checked.issues)}`, [...byResource.values()]);
    }
    return { prepared: { snapshot: checked.snapshot, resources: next, version: delta.version, resourceAt } };
  }

  /** Makes a prepared delta the state held (after the proxy applied its snapshot). */
  commit(prepared: PreparedDelta): void {
    this.#resources = prepared.resources;
    this.#version = prepared.version;
  }
}

function refuse(error: string, rejected: RejectedResource[]): { refused: RefusedDelta } {
  return { refused: { error, rejected } };
}

/**
 * The resources an apply error names by field path (`listeners[0].virtualHosts[2]...`), one entry each with
 * the whole error; none when the error names no path the snapshot has.
 */
export function resourcesNamedBy(error: string, prepared: PreparedDelta): RejectedResource[] {
  const found = new Map<string, RejectedResource>();
  for (const match of error.matchAll(/\b(?:listeners|clusters)\[\d+\](?:\.(?:virtualHosts|endpoints)\b)?/g)) {
    const ref = prepared.resourceAt(match[0]);
    if (ref) found.set(discoveryKey(ref), { ...ref, error });
  }
  return [...found.values()];
}
