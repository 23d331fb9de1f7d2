// One of a --workers primary's N worker positions, as the primary tracks it: the process in it now (it
// changes when a worker dies and is re-forked), what that process runs, and its restart history.
import type { Worker } from 'node:cluster';
import type { CertificateSummary } from '../identity/credentials.ts';
import type { Requester } from './ipc.ts';

/** One of the N worker positions; its process changes when a worker dies and is re-forked. */
export interface Slot {
  index: number;
  worker: Worker | undefined;
  requester: Requester | undefined;
  /** The worker answered 'started': it takes commands (and serves once it has a snapshot). */
  started: boolean;
  /** The snapshot version the worker runs. */
  version: string | undefined;
  /** The mesh certificate the worker said it presents. */
  certificate: CertificateSummary | undefined;
  forkedAt: number;
  restarts: number;
  /** Short-lived runs in a row, for the back-off. */
  crashes: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** Settles when the current process has started (or died first). */
  ready: Promise<void>;
}

/** A position with no process yet. */
export function emptySlot(index: number): Slot {
  return {
    index,
    worker: undefined,
    requester: undefined,
    started: false,
    version: undefined,
    certificate: undefined,
    forkedAt: 0,
    restarts: 0,
    crashes: 0,
    restartTimer: undefined,
    ready: Promise.resolve(),
  };
}

/** A worker as the admin's server_info and config_dump list it. */
export interface WorkerRow {
  index: number;
  pid: number | undefined;
  state: string;
  version: string | undefined;
  certificate: CertificateSummary | undefined;
  restarts: number;
}
