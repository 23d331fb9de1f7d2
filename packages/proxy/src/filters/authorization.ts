// The authorization filter (Envoy's RBAC, configured from Istio's AuthorizationPolicy): runs the listener's
// compiled policies (@strait/api/routing) on each request, when any apply, and answers a refusal with 403
// `RBAC: access denied` and the flag RBAC. A listener without policies costs one field read per request.
import { Errors, ResponseFlags } from '@strait/api';
import type { AuthzRequest } from '@strait/api/routing';
import type { Stream } from '../listener/stream.ts';
import { replyFor } from '../router/local-reply.ts';
import type { FilterResult, HttpFilter } from './types.ts';

const SPIFFE = 'spiffe://';

/** A stream as the rules read it; each attribute is read only if a rule asks for it. */
class StreamRequest implements AuthzRequest {
  readonly #stream: Stream;
  constructor(stream: Stream) {
    this.#stream = stream;
  }
  get principal(): string {
    const id = this.#stream.peerPrincipal;
    return id.startsWith(SPIFFE) ? id.slice(SPIFFE.length) : id;
  }
  get sourceIp(): string {
    return this.#stream.exchange.remoteAddress;
  }
  get destinationIp(): string {
    return this.#stream.exchange.localAddress;
  }
  get serverName(): string {
    return this.#stream.exchange.serverName;
  }
  get method(): string {
    return this.#stream.method;
  }
  get path(): string {
    const path = this.#stream.path;
    const query = path.indexOf('?');
    return query === -1 ? path : path.slice(0, query);
  }
  get host(): string {
    return this.#stream.authority;
  }
  header(name: string): string | undefined {
    return this.#stream.exchange.headers.get(name);
  }
}

/** Envoy's answer, body and all. */
const DENIED = replyFor(Errors.RBAC_DENIED, ResponseFlags.RBAC_ACCESS_DENIED, 'RBAC: access denied');

export const authorizationFilter: HttpFilter = {
  name: 'rbac',
  onRequest(stream: Stream): FilterResult {
    const authorization = stream.config.authorization;
    if (authorization === undefined) return undefined;
    const verdict = authorization.decide(new StreamRequest(stream));
    if (verdict.allowed) return undefined;
    stream.ctx.logger.debug(
      { requestId: stream.requestId, policy: verdict.policy ?? '(no ALLOW rule matched)' },
      'request denied by authorization policy',
    );
    return DENIED;
  },
};
