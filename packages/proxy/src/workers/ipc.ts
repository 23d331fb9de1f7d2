// The messages a --workers primary and its workers exchange over the cluster IPC channel, and the small
// request/reply layer on top: the primary asks (apply, credentials, clusters, metrics, drain...), each worker
// answers once.
import type { Snapshot } from '@strait/api';
import type { Registry } from 'prom-client';
import type { MeshCredentials } from '../identity/credentials.ts';

/** What the primary can ask a worker to do. */
export type WorkerCommand =
  | { kind: 'apply'; snapshot: Snapshot }
  /** The proxy's mesh key, certificate chain and trust bundle: the primary holds the identity, workers present it. */
  | { kind: 'credentials'; credentials: MeshCredentials }
  | { kind: 'clusters' }
  | { kind: 'metrics' }
  | { kind: 'log-level'; level: string }
  | { kind: 'drain' };

/** prom-client's getMetricsAsJSON() output, which is what a worker answers to 'metrics'. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** Primary -> worker. */
export interface RequestMessage {
  strait: 'request';
  id: number;
  command: WorkerCommand;
}

/** Worker -> primary, once per request. */
export type ReplyMessage =
  | { strait: 'reply'; id: number; ok: true; value: unknown }
  | { strait: 'reply'; id: number; ok: false; error: { code: string | undefined; message: string } };

/** Worker -> primary, once its process is up and listening for commands (it binds nothing before a snapshot). */
export interface StartedMessage {
  strait: 'started';
  pid: number;
}

/** Anything that can carry a message to the other side: a cluster Worker, or a worker's own process. */
export interface Channel {
  send(message: unknown): unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

const COMMAND_KINDS = new Set(['apply', 'credentials', 'clusters', 'metrics', 'log-level', 'drain']);

export function isRequest(message: unknown): message is RequestMessage {
  return (
    isObject(message) &&
    message.strait === 'request' &&
    typeof message.id === 'number' &&
    isObject(message.command) &&
    COMMAND_KINDS.has(message.command.kind as string)
  );
}

export function isReply(message: unknown): message is ReplyMessage {
  return (
    isObject(message) &&
    message.strait === 'reply' &&
    typeof message.id === 'number' &&
    typeof message.ok === 'boolean'
  );
}

export function isStarted(message: unknown): message is StartedMessage {
  return isObject(message) && message.strait === 'started' && typeof message.pid === 'number';
}

/**
 * A request that failed: `answered` when the worker replied with an error (keeping its code, e.g.
 * STRAIT_SNAPSHOT_INVALID), else the worker never answered (it exited, or the deadline passed).
 */
export class WorkerError extends Error {
  readonly code: string | undefined;
  readonly answered: boolean;
  constructor(message: string, code: string | undefined, answered = false) {
    super(message);
    this.name = 'WorkerError';
    this.code = code;
    this.answered = answered;
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** The primary's side of one worker's channel: numbered requests, matched to replies, with a deadline. */
export class Requester {
  readonly #channel: Channel;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closedWith: Error | undefined;

  constructor(channel: Channel) {
    this.#channel = channel;
  }

  /** Sends a command; resolves with the worker's answer, rejects with its error or after `timeoutMs`. */
  request(command: WorkerCommand, timeoutMs: number): Promise<unknown> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new WorkerError(`worker did not answer "${command.kind}" within ${timeoutMs} ms`, undefined));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, { resolve, reject, timer });
      try {
        this.#channel.send({ strait: 'request', id, command } satisfies RequestMessage);
      } catch (err) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new WorkerError(`could not reach the worker: ${(err as Error).message}`, undefined));
      }
    });
  }

  /** Feeds one incoming message; true when it was a reply to one of our requests. */
  handle(message: unknown): boolean {
    if (!isReply(message)) return false;
    const pending = this.#pending.get(message.id);
    if (!pending) return true;
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(message.value);
    else pending.reject(new WorkerError(message.error.message, message.error.code, true));
    return true;
  }

  /** The worker is gone: every open and later request fails with `reason`. */
  close(reason: string): void {
    this.#closedWith = new WorkerError(reason, undefined);
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(this.#closedWith);
    }
    this.#pending.clear();
  }

  get pending(): number {
    return this.#pending.size;
  }
}

/** The worker's side: runs one request through `handler`; the reply (answer or error) is for the caller to send. */
export async function answer(
  message: RequestMessage,
  handler: (command: WorkerCommand) => unknown,
): Promise<ReplyMessage> {
  try {
    return { strait: 'reply', id: message.id, ok: true, value: (await handler(message.command)) ?? null };
  } catch (err) {
    const code = isObject(err) && typeof err.code === 'string' ? err.code : undefined;
    const text = err instanceof Error ? err.message : String(err);
    return { strait: 'reply', id: message.id, ok: false, error: { code, message: text } };
  }
}
