// Cross-process: a sidecar whose outbound listener (the app's HTTP proxy) binds apart from the pod address,
// as in a Docker pod where the app reaches its sidecar on 127.0.0.1 and other pods must not reach :15001.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viaProxy } from './support/forward.ts';
import { type ProxyUnderTest, startProxy } from './support/processes.ts';
import { cluster, listener, route, snapshot } from './support/snapshots.ts';
import { startUpstream, type TestUpstream } from './support/upstream.ts';

const POD = '127.0.100.50';
const OUTBOUND = '127.0.100.51';
let upstream: TestUpstream;
let sidecar: ProxyUnderTest;

beforeAll(async () => {
  upstream = await startUpstream('b');
  const endpoint = [{ address: upstream.address, port: upstream.port }];
  sidecar = await startProxy({
    role: 'sidecar',
    address: POD,
    args: ['--outbound-address', OUTBOUND],
    snapshot: snapshot(
      [
        listener('inbound', 15006, [route('app', 'app')]),
        listener('outbound', 15001, [route('service-b', 'service-b')], ['service-b']),
      ],
      [cluster('app', endpoint), cluster('service-b', endpoint)],
    ),
  });
});

afterAll(async () => {
  await sidecar?.stop();
  await upstream?.close();
});

describe('--outbound-address', () => {
  it('serves the app’s outbound requests on the outbound address', async () => {
    const answer = await viaProxy(OUTBOUND, 15001, 'http://service-b/hello');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ upstream: 'b', url: '/hello' });
  });

  it('does not open the outbound listener on the pod address', async () => {
    await expect(viaProxy(POD, 15001, 'http://service-b/hello')).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('keeps the inbound listener on the pod address', async () => {
    const res = await request(`http://${POD}:15006/in`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ upstream: 'b', url: '/in' });
  });
});
