// The authorization filter on a stream: nothing is read when no policy applies; a refusal is Envoy's 403
// `RBAC: access denied` with the flag RBAC; the stream's principal (without spiffe://), path (without its
// query), authority, headers and addresses are what the rules see.
import { type ListenerAuthorization, ResponseFlags } from '@strait/api';
import { CompiledAuthorization } from '@strait/api/routing';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { HeaderList } from '../codec/headers.ts';
import type { Stream } from '../listener/stream.ts';
import { authorizationFilter } from './authorization.ts';

interface FakeStream {
  principal?: string;
  path?: string;
  headers?: string[];
  authorization?: ListenerAuthorization;
}

/** Just what the filter reads of a stream. */
function stream(o: FakeStream): Stream {
  return {
    config: { authorization: o.authorization && new CompiledAuthorization(o.authorization) },
    ctx: { logger: pino({ level: 'silent' }) },
    requestId: 'r1',
    peerPrincipal: o.principal ?? '',
    method: 'GET',
    path: o.path ?? '/',
    authority: 'service-b',
    exchange: {
      remoteAddress: '127.0.190.5',
      localAddress: '127.0.190.6',
      serverName: '',
      headers: new HeaderList(o.headers ?? []),
    },
  } as unknown as Stream;
}

const only = (rules: ListenerAuthorization['policies'][number]['rules']): ListenerAuthorization => ({
  destinationPort: 8080,
  policies: [{ name: 'p', namespace: 'default', action: 'ALLOW', scope: 'workload', rules }],
});

describe('authorizationFilter', () => {
  it('lets every request on where no policy applies', () => {
    expect(authorizationFilter.onRequest(stream({}))).toBeUndefined();
  });

  it("answers a refusal as Envoy does: 403, flag RBAC, body 'RBAC: access denied'", () => {
    expect(authorizationFilter.onRequest(stream({ authorization: only([]) }))).toEqual({
      status: 403,
      flag: ResponseFlags.RBAC_ACCESS_DENIED,
      body: 'RBAC: access denied',
    });
  });

  it('reads the principal without spiffe://, the path without its query, and the headers', () => {
    const policy = only([
      {
        from: [{ principals: ['cluster.local/ns/default/sa/service-a'] }],
        to: [{ paths: ['/info'] }],
        when: [
          { key: 'request.headers[x-token]', values: ['t'] },
          { key: 'source.ip', values: ['127.0.190.0/24'] },
        ],
      },
    ]);
    const a = 'spiffe://cluster.local/ns/default/sa/service-a';
    const ok = stream({ authorization: policy, principal: a, path: '/info?x=1', headers: ['x-token', 't'] });
    expect(authorizationFilter.onRequest(ok)).toBeUndefined();
    const noToken = stream({ authorization: policy, principal: a, path: '/info' });
    expect(authorizationFilter.onRequest(noToken)).toMatchObject({ status: 403 });
  });
});
