// Hands a --workers primary's mesh credentials to one worker over its IPC channel; a worker that does not
// take them is killed, so it is re-forked and gets them again in its catch-up.
import type { Logger } from 'pino';
import type { CertificateSummary, MeshCredentials } from '../identity/credentials.ts';
import type { Slot } from './slot.ts';
import { APPLY_TIMEOUT_MS } from './timing.ts';

/** Sends `credentials` to the worker in `slot`; false when it failed and the worker is being replaced. */
export async function sendCredentials(
  slot: Slot,
  credentials: MeshCredentials,
  logger: Logger,
): Promise<boolean> {
  const worker = slot.worker;
  if (!worker || !slot.requester) return true;
  try {
    const summary = await slot.requester.request({ kind: 'credentials', credentials }, APPLY_TIMEOUT_MS);
    if (slot.worker === worker) slot.certificate = summary as CertificateSummary;
    return true;
  } catch (err) {
    logger.error(
      { worker: slot.index, generation: credentials.generation, err: (err as Error).message },
      'worker did not take the mesh certificate; replacing it',
    );
    worker.process.kill('SIGKILL');
    return false;
  }
}
