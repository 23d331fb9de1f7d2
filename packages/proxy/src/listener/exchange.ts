// One downstream request's trip upstream: pick a host, dispatch with undici, retry and time out like
// Envoy's router, and stream the response back. Bodies stream; nothing is buffered whole.
import type { ServerResponse } from 'node:http';
import { Errors, ResponseFlags, type RetryPolicy } from '@strait/api';
import type { Dispatcher } from 'undici';
import type { Host, UpstreamCluster } from '../upstream/index.ts';

/** Why an attempt failed, in Envoy's retry-on vocabulary. */
export type FailureKind = 'connect-failure' | 'reset' | 'timeout';

/** What the caller needs to send one attempt. */
export interface ExchangeRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** A streaming body, or null. A request with a body is never retried: its bytes are gone once sent. */
  body: AsyncIterable<Buffer> | null;
  sourceIp: string;
  /** For ORIGINAL_DST clusters (passthrough, egress): where the request really goes. */
  originalDestination: { address: string; port: number } | undefined;
  requestHeaders: import('node:http').IncomingHttpHeaders;
}

/** Where an exchange ended; handed to the completion callback once. */
export interface ExchangeOutcome {
  status: number;
  flag: string;
  responseBytes: number;
  host: Host | undefined;
}

export interface ExchangeOptions {
  cluster: UpstreamCluster;
  retry: RetryPolicy | undefined;
  timeoutMs: number | undefined;
  /** Called with the upstream status and headers before they go out; may edit headers in place. */
  onResponseHead: (status: number, headers: Record<string, string | string[] | undefined>) => void;
  onDone: (outcome: ExchangeOutcome) => void;
}

const CONNECT_FAILURE_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

function classify(err: Error & { code?: string }): FailureKind {
  if (err.code !== undefined && CONNECT_FAILURE_CODES.has(err.code)) return 'connect-failure';
  if (err instanceof AttemptTimeout) return 'timeout';
  return 'reset';
}

/** Thrown into undici to stop an attempt that ran past its per-try timeout. */
class AttemptTimeout extends Error {
  readonly code = 'STRAIT_PER_TRY_TIMEOUT';
}
/** Thrown into undici to drop an attempt whose status will be retried. */
class RetryStatus extends Error {}

/** Drives one request across its attempts. */
export class Exchange {
  readonly #res: ServerResponse;
  readonly #req: ExchangeRequest;
  readonly #opts: ExchangeOptions;
  #attemptsLeft: number;
  #attempt: Attempt | undefined;
  #timer: NodeJS.Timeout | undefined;
  #headSent = false;
  /** The upstream status once its head went downstream. */
  #status = 0;
  #done = false;
  #retrying = false;
  #releasedRequest = false;
  responseBytes = 0;

  constructor(res: ServerResponse, req: ExchangeRequest, opts: ExchangeOptions) {
    this.#res = res;
    this.#req = req;
    this.#opts = opts;
    this.#attemptsLeft = req.body === null && opts.retry ? opts.retry.attempts : 0;
  }

  /** Starts the first attempt; answers 503 UO when the circuit is open, 503 UH without a host. */
  start(): void {
    const cluster = this.#opts.cluster;
    if (!cluster.acquireRequest()) {
      this.#releasedRequest = true;
      this.#fail(Errors.UPSTREAM_OVERFLOW.status, ResponseFlags.UPSTREAM_OVERFLOW, undefined);
      return;
    }
    if (this.#opts.timeoutMs) this.#timer = setTimeout(this.#onGlobalTimeout, this.#opts.timeoutMs);
    // Removed again in #finish; `on` rather than `once` saves a wrapper per request.
    this.#res.on('close', this.#onDownstreamClose);
    this.#send();
  }

  #send(): void {
    const host = this.#opts.cluster.choose({
      headers: this.#req.requestHeaders,
      sourceIp: this.#req.sourceIp,
      originalDestination: this.#req.originalDestination,
    });
    if (!host) {
      this.#fail(Errors.NO_HEALTHY_UPSTREAM.status, ResponseFlags.NO_HEALTHY_UPSTREAM, undefined);
      return;
    }
    const attempt = new Attempt(this, host, this.#opts.retry?.perTryTimeoutMs);
    this.#attempt = attempt;
    host.activeRequests++;
    host.pool.dispatch(
      {
        path: this.#req.path,
        method: this.#req.method,
        headers: this.#req.headers as Record<string, string | string[]>,
        // undici streams any async iterable; its typings list only Readable.
        body: this.#req.body as unknown as import('node:stream').Readable | null,
      },
      attempt,
    );
  }

  /** Decides whether a status is retried (before anything went downstream). */
  shouldRetryStatus(status: number): boolean {
    const retry = this.#opts.retry;
    if (!retry || this.#attemptsLeft <= 0 || this.#done) return false;
    for (const on of retry.retryOn) {
      if (on === '5xx' && status >= 500) return true;
      if (on === 'gateway-error' && (status === 502 || status === 503 || status === 504)) return true;
      if (on === 'retriable-status-codes' && retry.retriableStatusCodes?.includes(status)) return true;
    }
    return false;
  }

  #shouldRetryFailure(kind: FailureKind): boolean {
    const retry = this.#opts.retry;
    if (!retry || this.#attemptsLeft <= 0 || this.#done || this.#headSent) return false;
    for (const on of retry.retryOn) {
      if (on === 'connect-failure' && kind === 'connect-failure') return true;
      if (on === 'reset' && (kind === 'reset' || kind === 'timeout')) return true;
      // Envoy counts connect failures and resets as 503s, so both status policies cover them.
      if (on === '5xx' || on === 'gateway-error') return true;
    }
    return false;
  }

  /** Schedules another attempt after a short jittered back-off (Envoy: 25 ms base). */
  #retry(): void {
    const cluster = this.#opts.cluster;
    if (!cluster.acquireRetry()) {
      this.#fail(Errors.UPSTREAM_OVERFLOW.status, ResponseFlags.UPSTREAM_OVERFLOW, undefined);
      return;
    }
    this.#attemptsLeft--;
    this.#retrying = true;
    const used = (this.#opts.retry?.attempts ?? 0) - this.#attemptsLeft;
    const backoff = Math.random() * 25 * 2 ** Math.min(used - 1, 4);
    setTimeout(this.#afterBackoff, backoff);
  }

  #afterBackoff = (): void => {
    this.#opts.cluster.releaseRetry();
    this.#retrying = false;
    if (!this.#done) this.#send();
  };

  // --- called by Attempt --------------------------------------------------------------

  attemptHead(
    attempt: Attempt,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): boolean {
    if (attempt !== this.#attempt || this.#done) return false;
    this.#opts.cluster.reportResult(attempt.host, { status });
    if (this.shouldRetryStatus(status)) {
      this.#endAttempt(attempt);
      this.#retry();
      return false;
    }
    this.#opts.onResponseHead(status, headers);
    this.#res.writeHead(status, headers as Record<string, string | string[]>);
    this.#headSent = true;
    this.#status = status;
    return true;
  }

  attemptData(attempt: Attempt, chunk: Buffer): boolean {
    if (attempt !== this.#attempt) return true;
    this.responseBytes += chunk.length;
    return this.#res.write(chunk);
  }

  /** Lets a paused attempt resume when the downstream socket drains. */
  waitForDrain(attempt: Attempt): void {
    this.#res.once('drain', attempt.resume);
  }

  attemptEnd(attempt: Attempt, trailers: Record<string, string | string[] | undefined>): void {
    if (attempt !== this.#attempt) return;
    this.#endAttempt(attempt);
    if (trailers && Object.keys(trailers).length > 0)
      this.#res.addTrailers(trailers as Record<string, string>);
    this.#res.end();
    this.#finish(this.#status, ResponseFlags.NONE, attempt.host);
  }

  attemptError(attempt: Attempt, err: Error): void {
    if (attempt !== this.#attempt) return;
    this.#endAttempt(attempt);
    if (err instanceof RetryStatus || this.#done) return;
    const kind = classify(err);
    this.#opts.cluster.reportResult(attempt.host, { error: kind });
    if (this.#headSent) {
      // Too late to answer anything else: the client sees a cut response, as with Envoy.
      this.#res.destroy();
      this.#finish(this.#status, ResponseFlags.UPSTREAM_RESET, attempt.host);
      return;
    }
    if (this.#shouldRetryFailure(kind)) {
      this.#retry();
      return;
    }
    if (kind === 'connect-failure')
      this.#fail(
        Errors.UPSTREAM_CONNECT_FAILURE.status,
        ResponseFlags.UPSTREAM_CONNECT_FAILURE,
        attempt.host,
      );
    else if (kind === 'timeout')
      this.#fail(Errors.UPSTREAM_TIMEOUT.status, ResponseFlags.UPSTREAM_TIMEOUT, attempt.host);
    else this.#fail(Errors.UPSTREAM_RESET.status, ResponseFlags.UPSTREAM_RESET, attempt.host);
  }

  #endAttempt(attempt: Attempt): void {
    attempt.clearTimer();
    if (!attempt.counted) return;
    attempt.counted = false;
    attempt.host.activeRequests--;
  }

  // --- endings ----------------------------------------------------------------------

  #onGlobalTimeout = (): void => {
    this.#timer = undefined;
    if (this.#done) return;
    const attempt = this.#attempt;
    if (attempt) {
      this.#endAttempt(attempt);
      this.#opts.cluster.reportResult(attempt.host, { error: 'timeout' });
      attempt.abort(new AttemptTimeout('route timeout'));
    }
    if (this.#headSent) {
      this.#res.destroy();
      this.#finish(this.#status, ResponseFlags.UPSTREAM_TIMEOUT, attempt?.host);
    } else {
      this.#fail(Errors.UPSTREAM_TIMEOUT.status, ResponseFlags.UPSTREAM_TIMEOUT, attempt?.host);
    }
  };

  /**
   * The client broke its request off (bad framing, or gone mid-body). The attempt is dropped without
   * telling outlier detection or retrying, and the exchange ends with the client's status and flag; the
   * caller answers (or cuts) the connection. Returns whether the response head had already gone out.
   */
  downstreamFailed(status: number, flag: string): boolean {
    if (this.#done) return this.#headSent;
    const attempt = this.#attempt;
    this.#attempt = undefined;
    if (attempt) {
      this.#endAttempt(attempt);
      attempt.abort(new Error('downstream fault'));
    }
    this.#finish(status, flag, attempt?.host);
    return this.#headSent;
  }

  #onDownstreamClose = (): void => {
    if (this.#done) return;
    const attempt = this.#attempt;
    if (attempt) {
      this.#endAttempt(attempt);
      attempt.abort(new Error('downstream closed'));
    }
    this.#finish(499, ResponseFlags.DOWNSTREAM_DISCONNECT, attempt?.host);
  };

  #fail(status: number, flag: string, host: Host | undefined): void {
    if (this.#done) return;
    const res = this.#res;
    if (!res.headersSent && !res.destroyed) {
      const body = `${flag === ResponseFlags.UPSTREAM_TIMEOUT ? 'upstream request timeout' : flagText(flag)}\n`;
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      this.responseBytes += Buffer.byteLength(body);
    }
    this.#finish(status, flag, host);
  }

  #finish(status: number, flag: string, host: Host | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#res.removeListener('close', this.#onDownstreamClose);
    if (!this.#releasedRequest) {
      this.#releasedRequest = true;
      this.#opts.cluster.releaseRequest();
    }
    if (this.#retrying) {
      this.#retrying = false;
      this.#opts.cluster.releaseRetry();
    }
    this.#opts.onDone({ status, flag, responseBytes: this.responseBytes, host });
  }
}

function flagText(flag: string): string {
  switch (flag) {
    case ResponseFlags.UPSTREAM_OVERFLOW:
      return 'upstream connect error or disconnect/reset before headers. reset reason: overflow';
    case ResponseFlags.NO_HEALTHY_UPSTREAM:
      return 'no healthy upstream';
    case ResponseFlags.UPSTREAM_CONNECT_FAILURE:
      return 'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
    default:
      return 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';
  }
}

/** One try against one host: an undici dispatch handler whose callbacks report to the exchange. */
class Attempt implements Dispatcher.DispatchHandler {
  readonly host: Host;
  readonly #exchange: Exchange;
  #controller: Dispatcher.DispatchController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pendingAbort: Error | undefined;
  counted = true;

  constructor(exchange: Exchange, host: Host, perTryTimeoutMs: number | undefined) {
    this.#exchange = exchange;
    this.host = host;
    if (perTryTimeoutMs) this.#timer = setTimeout(this.#onTimeout, perTryTimeoutMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pendingAbort) controller.abort(this.#pendingAbort);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx informational: Node's server sends its own 100-continue
    if (!this.#exchange.attemptHead(this, statusCode, headers)) controller.abort(new RetryStatus());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#exchange.attemptData(this, chunk)) {
      controller.pause();
      this.#exchange.waitForDrain(this);
    }
  }

  onResponseEnd(
    _controller: Dispatcher.DispatchController,
    trailers: Record<string, string | string[] | undefined>,
  ): void {
    this.#exchange.attemptEnd(this, trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#exchange.attemptError(this, error);
  }

  resume = (): void => {
    this.#controller?.resume();
  };

  abort(reason: Error): void {
    if (this.#controller) this.#controller.abort(reason);
    else this.#pendingAbort = reason;
  }

  clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onTimeout = (): void => {
    this.#timer = undefined;
    this.abort(new AttemptTimeout('per-try timeout'));
  };
}
