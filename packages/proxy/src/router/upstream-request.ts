// One request's trip upstream, as Envoy's router makes it: circuit breakers, a host per attempt, retries
// with jittered back-off, per-try and route timeouts, bodies streamed both ways with back-pressure, and
// failures answered from the catalogue. A client's own fault ends it without blaming the upstream.
import { Errors, ResponseFlags, type RetryPolicy } from '@strait/api';
import { endToEnd } from '../codec/headers.ts';
import type { DownstreamFault } from '../codec/types.ts';
import type { Stream } from '../listener/stream.ts';
import type {
  Acquired,
  Host,
  RequestHead,
  UpstreamCluster,
  UpstreamConnection,
  UpstreamFailure,
} from '../upstream/index.ts';
import { replyFor, sendLocalReply } from './local-reply.ts';

/** The router's parts an upstream request needs: the response-side filters, and the proxy's own header. */
export interface UpstreamRequestOptions {
  onResponseHead(stream: Stream, raw: string[]): void;
  /** Response fields never sent downstream (the peer header), lower-case. */
  dropResponseFields: ReadonlySet<string>;
}

const FAILURE_REPLY = {
  'connect-failure': replyFor(
    Errors.UPSTREAM_CONNECT_FAILURE,
    ResponseFlags.UPSTREAM_CONNECT_FAILURE,
    'upstream connect error or disconnect/reset before headers. reset reason: connection failure\n',
  ),
  timeout: replyFor(Errors.UPSTREAM_TIMEOUT, ResponseFlags.UPSTREAM_TIMEOUT, 'upstream request timeout\n'),
  reset: replyFor(
    Errors.UPSTREAM_RESET,
    ResponseFlags.UPSTREAM_RESET,
    'upstream connect error or disconnect/reset before headers. reset reason: connection termination\n',
  ),
} as const;
const OVERFLOW = replyFor(
  Errors.UPSTREAM_OVERFLOW,
  ResponseFlags.UPSTREAM_OVERFLOW,
  'upstream connect error or disconnect/reset before headers. reset reason: overflow\n',
);
const NO_HOST = replyFor(
  Errors.NO_HEALTHY_UPSTREAM,
  ResponseFlags.NO_HEALTHY_UPSTREAM,
  'no healthy upstream\n',
);

/** One try against one host. Callbacks from a stale attempt (one given up on) are ignored. */
class Attempt {
  readonly host: Host;
  connection: UpstreamConnection | undefined;
  waiter: ((result: Acquired) => void) | undefined;
  timer: NodeJS.Timeout | undefined;
  responded = false;
  constructor(host: Host) {
    this.host = host;
  }
}

export class UpstreamRequest {
  readonly #stream: Stream;
  readonly #cluster: UpstreamCluster;
  readonly #head: RequestHead;
  readonly #retry: RetryPolicy | undefined;
  readonly #timeoutMs: number | undefined;
  readonly #options: UpstreamRequestOptions;
  #attemptsLeft: number;
  #attempt: Attempt | undefined;
  #timer: NodeJS.Timeout | undefined;
  #retrying = false;
  #status = 0;
  #done = false;

  constructor(
    stream: Stream,
    cluster: UpstreamCluster,
    head: RequestHead,
    route: { retry?: RetryPolicy | undefined; timeoutMs?: number | undefined } | undefined,
    options: UpstreamRequestOptions,
  ) {
    this.#stream = stream;
    this.#cluster = cluster;
    this.#head = head;
    this.#retry = route?.retry;
    this.#timeoutMs = route?.timeoutMs;
    this.#options = options;
    // A request with a body is never retried: its bytes are gone once sent.
    this.#attemptsLeft = head.hasBody ? 0 : (this.#retry?.attempts ?? 0);
  }

  start(): void {
    if (!this.#cluster.acquireRequest()) {
      this.#done = true;
      sendLocalReply(this.#stream, OVERFLOW);
      return;
    }
    this.#stream.exchange.onFault = this.#onDownstreamFault;
    if (this.#timeoutMs) this.#timer = setTimeout(this.#onRouteTimeout, this.#timeoutMs);
    this.#send();
  }

  #send(): void {
    const stream = this.#stream;
    const host = this.#cluster.choose({
      headers: stream.exchange.headers,
      sourceIp: stream.exchange.remoteAddress,
      originalDestination: stream.originalDestination,
    });
    if (!host) {
      this.#fail(NO_HOST, undefined);
      return;
    }
    const attempt = new Attempt(host);
    this.#attempt = attempt;
    host.beginRequest();
    const perTry = this.#retry?.perTryTimeoutMs;
    if (perTry) attempt.timer = setTimeout(() => this.#attemptFailed(attempt, 'timeout', true), perTry);
    attempt.waiter = (result) => this.#connected(attempt, result);
    host.pool.acquire(attempt.waiter);
  }

  #connected(attempt: Attempt, result: Acquired): void {
    attempt.waiter = undefined;
    if (attempt !== this.#attempt || this.#done) {
      if ('connection' in result) result.connection.destroy();
      return;
    }
    if ('failure' in result) {
      this.#attemptFailed(attempt, result.failure, true);
      return;
    }
    const connection = result.connection;
    attempt.connection = connection;
    connection.send(this.#head, {
      onHead: (status, reason, raw, length) => this.#onHead(attempt, status, reason, raw, length),
      onData: (chunk) => this.#onData(attempt, chunk),
      onEnd: (trailers) => this.#onEnd(attempt, trailers),
      onError: (failure, before) => this.#attemptFailed(attempt, failure, before),
    });
    if (this.#head.hasBody) this.#streamBody(connection);
  }

  /** Request body: downstream chunks go upstream; a full upstream socket pauses the client. */
  #streamBody(connection: UpstreamConnection): void {
    const exchange = this.#stream.exchange;
    const resume = (): void => exchange.resumeBody();
    exchange.readBody({
      data: (chunk) => {
        if (connection.writeBody(chunk)) return true;
        connection.socket.once('drain', resume);
        return false;
      },
      end: (trailers) => connection.endBody(trailers),
    });
  }

  #onHead(attempt: Attempt, status: number, reason: string, raw: string[], length: number | undefined): void {
    if (attempt !== this.#attempt || this.#done) return;
    attempt.responded = true;
    this.#cluster.reportResult(attempt.host, { status });
    if (this.#shouldRetryStatus(status)) {
      attempt.connection?.destroy();
      this.#endAttempt(attempt);
      this.#scheduleRetry();
      return;
    }
    const stream = this.#stream;
    const fields = endToEnd(raw, this.#options.dropResponseFields);
    this.#options.onResponseHead(stream, fields);
    this.#status = status;
    stream.exchange.head(status, reason, fields, length);
  }

  #onData(attempt: Attempt, chunk: Buffer): boolean {
    if (attempt !== this.#attempt || this.#done) return true;
    const exchange = this.#stream.exchange;
    if (exchange.write(chunk)) return true;
    exchange.onDrain = () => {
      exchange.onDrain = undefined;
      attempt.connection?.resume();
    };
    return false;
  }

  #onEnd(attempt: Attempt, trailers: string[]): void {
    if (attempt !== this.#attempt || this.#done) return;
    this.#endAttempt(attempt);
    this.#finish(this.#status, ResponseFlags.NONE, attempt.host);
    this.#stream.exchange.end(trailers.length > 0 ? trailers : undefined);
  }

  /** An attempt failed: tell outlier detection, retry if the policy allows, else answer or cut. */
  #attemptFailed(attempt: Attempt, failure: UpstreamFailure, beforeResponse: boolean): void {
    if (attempt !== this.#attempt || this.#done) return;
    attempt.connection?.destroy();
    this.#endAttempt(attempt);
    this.#cluster.reportResult(attempt.host, { error: failure });
    const exchange = this.#stream.exchange;
    if (exchange.headSent || !beforeResponse) {
      // Too late to answer anything else: the client sees a cut response, as with Envoy.
      exchange.abort();
      this.#finish(
        this.#status,
        failure === 'timeout' ? ResponseFlags.UPSTREAM_TIMEOUT : ResponseFlags.UPSTREAM_RESET,
        attempt.host,
      );
      return;
    }
    if (this.#shouldRetryFailure(failure)) {
      this.#scheduleRetry();
      return;
    }
    this.#fail(FAILURE_REPLY[failure], attempt.host);
  }

  #shouldRetryStatus(status: number): boolean {
    const retry = this.#retry;
    if (!retry || this.#attemptsLeft <= 0) return false;
    for (const on of retry.retryOn) {
      if (on === '5xx' && status >= 500) return true;
      if (on === 'gateway-error' && (status === 502 || status === 503 || status === 504)) return true;
      if (on === 'retriable-status-codes' && retry.retriableStatusCodes?.includes(status)) return true;
    }
    return false;
  }

  #shouldRetryFailure(failure: UpstreamFailure): boolean {
    const retry = this.#retry;
    if (!retry || this.#attemptsLeft <= 0) return false;
    for (const on of retry.retryOn) {
      if (on === 'connect-failure' && failure === 'connect-failure') return true;
      if (on === 'reset' && failure !== 'connect-failure') return true;
      // Envoy counts connect failures and resets as 503s, so both status policies cover them.
      if (on === '5xx' || on === 'gateway-error') return true;
    }
    return false;
  }

  /** Another attempt after a short jittered back-off (Envoy: 25 ms base, doubling). */
  #scheduleRetry(): void {
    if (!this.#cluster.acquireRetry()) {
      this.#fail(OVERFLOW, undefined);
      return;
    }
    this.#attemptsLeft--;
    this.#retrying = true;
    const used = (this.#retry?.attempts ?? 0) - this.#attemptsLeft;
    setTimeout(this.#afterBackoff, Math.random() * 25 * 2 ** Math.min(used - 1, 4));
  }

  #afterBackoff = (): void => {
    this.#cluster.releaseRetry();
    this.#retrying = false;
    if (!this.#done) this.#send();
  };

  #onRouteTimeout = (): void => {
    this.#timer = undefined;
    if (this.#done) return;
    const attempt = this.#attempt;
    if (attempt) {
      attempt.connection?.destroy();
      this.#endAttempt(attempt);
      this.#cluster.reportResult(attempt.host, { error: 'timeout' });
    }
    if (this.#stream.exchange.headSent) {
      this.#stream.exchange.abort();
      this.#finish(this.#status, ResponseFlags.UPSTREAM_TIMEOUT, attempt?.host);
    } else this.#fail(FAILURE_REPLY.timeout, attempt?.host);
  };

  /** The client broke the request off: drop the attempt, never blaming the upstream. */
  #onDownstreamFault = (fault: DownstreamFault, status: number): void => {
    if (this.#done) return;
    const attempt = this.#attempt;
    if (attempt) {
      attempt.connection?.destroy();
      this.#endAttempt(attempt);
    }
    const flag =
      fault === 'protocol' ? ResponseFlags.DOWNSTREAM_PROTOCOL_ERROR : ResponseFlags.DOWNSTREAM_DISCONNECT;
    this.#finish(status, flag, attempt?.host);
  };

  #endAttempt(attempt: Attempt): void {
    if (attempt.timer) clearTimeout(attempt.timer);
    attempt.timer = undefined;
    if (attempt.waiter) attempt.host.pool.cancel(attempt.waiter);
    attempt.waiter = undefined;
    if (this.#attempt === attempt) {
      this.#attempt = undefined;
      attempt.host.endRequest();
    }
  }

  #fail(reply: (typeof FAILURE_REPLY)[UpstreamFailure] | typeof OVERFLOW, host: Host | undefined): void {
    if (this.#done) return;
    this.#release(host);
    sendLocalReply(this.#stream, reply);
  }

  #finish(status: number, flag: string, host: Host | undefined): void {
    if (this.#done) return;
    this.#release(host);
    this.#stream.finish(status, flag);
  }

  #release(host: Host | undefined): void {
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stream.exchange.onFault = undefined;
    this.#stream.host = host;
    this.#cluster.releaseRequest();
    if (this.#retrying) {
      this.#retrying = false;
      this.#cluster.releaseRetry();
    }
  }
}
