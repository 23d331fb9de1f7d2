// The worker thread that parses resource-API bodies, so a body that is slow to parse never holds the
// control plane's event loop (discovery, ACKs and readiness keep answering). See OffThreadParser.
import { parentPort } from 'node:worker_threads';
import { StraitError } from '@strait/api';
import { documentsOf } from './documents.ts';

export interface ParseJob {
  id: number;
  text: string;
  source: string;
}

export type ParseReply =
  | { ready: true }
  | { id: number; ok: true; result: ReturnType<typeof documentsOf> }
  | { id: number; ok: false; code: string; detail: string };

// Loaded and ready: the parse budget counts from here, never the worker's start-up.
parentPort?.postMessage({ ready: true } satisfies ParseReply);

parentPort?.on('message', (job: ParseJob) => {
  let reply: ParseReply;
  try {
    reply = { id: job.id, ok: true, result: documentsOf(job.text, job.source) };
  } catch (err) {
    const e = err instanceof StraitError ? err : undefined;
    reply = { id: job.id, ok: false, code: e?.code ?? '', detail: e?.detail ?? (err as Error).message };
  }
  parentPort?.postMessage(reply);
});
