// A small etcd v3 client over etcd's JSON gateway (the same API as gRPC, as JSON over HTTP/1.1) with undici:
// key ranges, transactions, leases, status, compaction and watch streams. It knows several members and
// moves to the next when one does not answer; a write whose fate is unknown (the member went away after
// taking it) is reported as such, never silently retried.
import { LineSplitter } from '@strait/api';
import { Agent, errors as undiciErrors } from 'undici';

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

export interface ResponseHeader {
  revision: number;
  memberId: string;
  raftTerm: number;
}

/** One transaction comparison (etcd's Compare), on a key's value, mod or create revision. */
export type Compare =
  | { key: string; target: 'MOD' | 'CREATE'; result: 'EQUAL' | 'LESS' | 'GREATER'; revision: number }
  | { key: string; target: 'VALUE'; result: 'EQUAL'; value: string };

/** One operation of a transaction's branch. */
export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { deleteRange: { key: string; rangeEnd?: string } }
  | { range: { key: string; rangeEnd?: string } };

export interface TxnResult {
  header: ResponseHeader;
  succeeded: boolean;
  /** The key-values of the branch's range operations, in order. */
  ranges: KeyValue[][];
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
}

/** One message of a watch stream. */
export interface WatchResponse {
  header: ResponseHeader;
  created: boolean;
  canceled: boolean;
  /** Set when the start revision was compacted away: the watcher must list again. */
  compactRevision: number;
  cancelReason: string;
  events: WatchEvent[];
}

export interface MemberStatus {
  endpoint: string;
  header: ResponseHeader;
  /** The leader's member id; "0" while the member knows no leader. */
  leader: string;
  raftIndex: number;
  dbSize: number;
}

/** No member answered (or none could take the request): nothing was done. */
export class EtcdUnavailableError extends Error {
  override name = 'EtcdUnavailableError';
}

/** A write reached a member that then failed or went silent: it may or may not have been applied. */
export class EtcdIndeterminateError extends Error {
  override name = 'EtcdIndeterminateError';
}

/** A read or watch asked for a revision that etcd has compacted away. */
export class EtcdCompactedError extends Error {
  override name = 'EtcdCompactedError';
}

export interface EtcdClientOptions {
  /** Member URLs, e.g. http://127.0.0.1:2379. */
  endpoints: readonly string[];
  /** How long one member may take to answer one request. Default 2000 ms. */
  requestTimeoutMs?: number;
  /** How long connecting to one member may take. Default 1000 ms. */
  connectTimeoutMs?: number;
}

/** etcd's answers carry no field at its default value (0, false, ""); these read them with that in mind. */
type Json = Record<string, unknown>;
const num = (v: unknown): number => (v === undefined ? 0 : Number(v));
const str = (v: unknown): string => (v === undefined ? '' : String(v));
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (v: unknown): string =>
  v === undefined ? '' : Buffer.from(String(v), 'base64').toString('utf8');

/** The key just past every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if ((bytes[i] as number) < 0xff) {
      const end = bytes.subarray(0, i + 1);
      end[i] = (end[i] as number) + 1;
      return end.toString('utf8');
    }
  }
  return '\0';
}

function header(v: unknown): ResponseHeader {
  const h = (v ?? {}) as Json;
  return { revision: num(h.revision), memberId: str(h.member_id), raftTerm: num(h.raft_term) };
}

function keyValue(v: unknown): KeyValue {
  const kv = v as Json;
  return {
    key: unb64(kv.key),
    value: unb64(kv.value),
    createRevision: num(kv.create_revision),
    modRevision: num(kv.mod_revision),
    version: num(kv.version),
    lease: str(kv.lease),
  };
}

function compareJson(c: Compare): Json {
  if (c.target === 'VALUE')
    return { key: b64(c.key), target: 'VALUE', result: c.result, value: b64(c.value) };
  const field = c.target === 'MOD' ? 'mod_revision' : 'create_revision';
  return { key: b64(c.key), target: c.target, result: c.result, [field]: String(c.revision) };
}

function opJson(op: TxnOp): Json {
  if ('put' in op) {
    const put: Json = { key: b64(op.put.key), value: b64(op.put.value) };
    if (op.put.lease) put.lease = op.put.lease;
    return { request_put: put };
  }
  const target = 'deleteRange' in op ? op.deleteRange : op.range;
  const body: Json = { key: b64(target.key) };
  if (target.rangeEnd !== undefined) body.range_end = b64(target.rangeEnd);
  return 'deleteRange' in op ? { request_delete_range: body } : { request_range: body };
}

/** etcd errors that mean the member could not even start the request: another member may take it. */
const NOT_TAKEN = /no leader|not capable|too many requests|stopped|unhealthy cluster|learner/i;

export class EtcdClient {
  readonly endpoints: readonly string[];
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  /** The member tried first: the last one that answered. */
  #preferred = 0;

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new Error('etcd: no endpoints');
    this.endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ''));
    this.#timeoutMs = options.requestTimeoutMs ?? 2000;
    this.#agent = new Agent({
      connect: { timeout: options.connectTimeoutMs ?? 1000 },
      keepAliveTimeout: 30_000,
      connections: 16,
    });
  }

  /** Every key in [key, rangeEnd) (one key when rangeEnd is absent), with the revision read at. */
  async range(
    key: string,
    rangeEnd?: string,
    options: { countOnly?: boolean } = {},
  ): Promise<{ header: ResponseHeader; kvs: KeyValue[]; count: number }> {
    const body: Json = { key: b64(key) };
    if (rangeEnd !== undefined) body.range_end = b64(rangeEnd);
    if (options.countOnly) body.count_only = true;
    const res = await this.#call('/v3/kv/range', body, true);
    return {
      header: header(res.header),
      kvs: ((res.kvs ?? []) as unknown[]).map(keyValue),
      count: num(res.count),
    };
  }

  /** An atomic transaction: if every comparison holds, the success branch, else the failure branch. */
  async txn(
    compare: readonly Compare[],
    success: readonly TxnOp[],
    failure: readonly TxnOp[] = [],
  ): Promise<TxnResult> {
    const res = await this.#call(
      '/v3/kv/txn',
      { compare: compare.map(compareJson), success: success.map(opJson), failure: failure.map(opJson) },
      false,
    );
    const ranges: KeyValue[][] = [];
    for (const r of (res.responses ?? []) as Json[]) {
      const range = r.response_range as Json | undefined;
      if (range) ranges.push(((range.kvs ?? []) as unknown[]).map(keyValue));
    }
    return { header: header(res.header), succeeded: res.succeeded === true, ranges };
  }

  async put(key: string, value: string, lease?: string): Promise<ResponseHeader> {
    const body: Json = { key: b64(key), value: b64(value) };
    if (lease) body.lease = lease;
    return header((await this.#call('/v3/kv/put', body, false)).header);
  }

  /** Grants a lease of `ttlSeconds`; returns its id. */
  async leaseGrant(ttlSeconds: number): Promise<{ id: string; ttl: number }> {
    const res = await this.#call('/v3/lease/grant', { TTL: String(ttlSeconds) }, true);
    if (res.error) throw new EtcdUnavailableError(`etcd refused a lease: ${str(res.error)}`);
    return { id: str(res.ID), ttl: num(res.TTL) };
  }

  /** Renews a lease; returns its remaining TTL in seconds, 0 when the lease is gone (expired or revoked). */
  async leaseKeepAlive(id: string): Promise<number> {
    const res = await this.#call('/v3/lease/keepalive', { ID: id }, true);
    return num((res.result as Json | undefined)?.TTL);
  }

  /** Drops the history before `revision` (watches and reads from before it get EtcdCompactedError). */
  async compact(revision: number): Promise<void> {
    await this.#call('/v3/kv/compaction', { revision: String(revision) }, true);
  }

  /** One member's status (its revision, and the leader it knows). */
  async status(endpoint: string): Promise<MemberStatus> {
    const res = await this.#send(endpoint, '/v3/maintenance/status', {});
    return {
      endpoint,
      header: header(res.header),
      leader: str(res.leader) || '0',
      raftIndex: num(res.raftIndex),
      dbSize: num(res.dbSize),
    };
  }

  /**
   * Watches [key, rangeEnd) from `startRevision` on one member (the preferred one, or the next when it does
   * not answer). Yields every message until the stream ends, fails or `signal` aborts.
   */
  async *watch(
    key: string,
    rangeEnd: string,
    startRevision: number,
    signal: AbortSignal,
  ): AsyncGenerator<WatchResponse> {
    const create = {
      create_request: { key: b64(key), range_end: b64(rangeEnd), start_revision: String(startRevision) },
    };
    const endpoint = this.endpoints[this.#preferred] as string;
    let res: Awaited<ReturnType<Agent['request']>>;
    try {
      res = await this.#agent.request({
        origin: new URL(endpoint).origin,
        path: '/v3/watch',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(create),
        signal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: 0,
      });
    } catch (err) {
      this.#failed(endpoint);
      throw new EtcdUnavailableError(`etcd at ${endpoint} did not open a watch: ${reason(err)}`);
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      this.#failed(endpoint);
      throw new EtcdUnavailableError(
        `etcd at ${endpoint} refused a watch: ${res.statusCode} ${text.slice(0, 200)}`,
      );
    }
    const lines = new LineSplitter(64 * 1024 * 1024);
    try {
      for await (const chunk of res.body) {
        for (const line of lines.push(chunk as Buffer)) {
          if (line.trim() === '') continue;
          const message = JSON.parse(line) as Json;
          if (message.error)
            throw new EtcdUnavailableError(
              `etcd at ${endpoint} ended a watch: ${JSON.stringify(message.error)}`,
            );
          const r = (message.result ?? {}) as Json;
          yield {
            header: header(r.header),
            created: r.created === true,
            canceled: r.canceled === true,
            compactRevision: num(r.compact_revision),
            cancelReason: str(r.cancel_reason),
            events: ((r.events ?? []) as Json[]).map((e) => ({
              type: e.type === 'DELETE' ? 'DELETE' : 'PUT',
              kv: keyValue(e.kv),
            })),
          };
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof EtcdUnavailableError) throw err;
      this.#failed(endpoint);
      throw new EtcdUnavailableError(`etcd at ${endpoint} broke a watch: ${reason(err)}`);
    }
  }

  async close(): Promise<void> {
    await this.#agent.close().catch(() => undefined);
  }

  /**
   * Sends one request, trying each member once, the preferred first. A request that may have reached a
   * member is only tried again elsewhere when `idempotent`; otherwise its unknown fate is the caller's.
   */
  async #call(path: string, body: Json, idempotent: boolean): Promise<Json> {
    const failures: string[] = [];
    for (let i = 0; i < this.endpoints.length; i++) {
      const endpoint = this.endpoints[(this.#preferred + i) % this.endpoints.length] as string;
      try {
        const res = await this.#send(endpoint, path, body);
        this.#preferred = this.endpoints.indexOf(endpoint);
        return res;
      } catch (err) {
        this.#failed(endpoint);
        const failure = err as RequestFailure;
        failures.push(`${endpoint}: ${failure.message}`);
        if (failure.compacted) throw new EtcdCompactedError(failure.message);
        if (failure.mayHaveApplied && !idempotent)
          throw new EtcdIndeterminateError(`etcd at ${endpoint} took the write and then ${failure.message}`);
      }
    }
    throw new EtcdUnavailableError(failures.join('; '));
  }

  /** One request to one member. Throws a RequestFailure saying whether the member may have acted on it. */
  async #send(endpoint: string, path: string, body: Json): Promise<Json> {
    let res: Awaited<ReturnType<Agent['request']>>;
    try {
      res = await this.#agent.request({
        origin: new URL(endpoint).origin,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
    } catch (err) {
      throw new RequestFailure(reason(err), !neverSent(err));
    }
    let parsed: Json;
    try {
      parsed = (await res.body.json()) as Json;
    } catch (err) {
      throw new RequestFailure(`answered ${res.statusCode} with no JSON (${reason(err)})`, true);
    }
    if (res.statusCode === 200 && parsed.error === undefined) return parsed;
    const message = str(parsed.message ?? parsed.error) || `HTTP ${res.statusCode}`;
    const failure = new RequestFailure(`answered ${res.statusCode}: ${message}`, !NOT_TAKEN.test(message));
    failure.compacted = /compacted/i.test(message);
    throw failure;
  }

  #failed(endpoint: string): void {
    const index = this.endpoints.indexOf(endpoint);
    if (index === this.#preferred) this.#preferred = (index + 1) % this.endpoints.length;
  }
}

class RequestFailure extends Error {
  compacted = false;
  /** The member may have acted on the request before failing. */
  readonly mayHaveApplied: boolean;
  constructor(message: string, mayHaveApplied: boolean) {
    super(message);
    this.mayHaveApplied = mayHaveApplied;
  }
}

/** Errors that show the request never left this process (no connection was made). */
function neverSent(err: unknown): boolean {
  if (err instanceof undiciErrors.ConnectTimeoutError) return true;
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
}

function reason(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  return e.code ?? e.cause?.code ?? e.message ?? String(err);
}
