// Cross-process: strait-proxy from a snapshot file in front of real upstreams — routing, splits, rewrites, headers.
import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyUnderTest, startProxy, waitFor } from './support/processes.ts';
import { cluster, route, snapshot } from './support/snapshots.ts';
import { startUpstream, type TestUpstream } from './support/upstream.ts';

const ADDR = '127.0.100.1';
let a: TestUpstream;
let b: TestUpstream;
let proxy: ProxyUnderTest;

beforeAll(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
  const ep = (u: TestUpstream) => [{ address: u.address, port: u.port }];
  proxy = await startProxy({
    role: 'ingress',
    address: ADDR,
    snapshot: snapshot(
      [
        {
          name: 'gateway',
          kind: 'gateway',
          port: 8080,
          virtualHosts: [
            {
              name: 'shop',
              domains: ['shop.example', '*.shop.example'],
              routes: [
                {
                  name: 'exact',
                  match: { path: { exact: '/only-b' } },
                  route: { clusters: [{ cluster: 'b', weight: 1 }] },
                },
                {
                  name: 'by-header',
                  match: { path: { prefix: '/' }, headers: [{ name: 'x-canary', match: { exact: 'yes' } }] },
                  route: { clusters: [{ cluster: 'b', weight: 1 }] },
                },
                {
                  name: 'by-query',
                  match: { path: { prefix: '/' }, queryParams: [{ name: 'v', match: { exact: 'b' } }] },
                  route: { clusters: [{ cluster: 'b', weight: 1 }] },
                },
                {
                  name: 'post-only',
                  match: { path: { regex: '/items/[0-9]+' }, method: ['POST'] },
                  route: { clusters: [{ cluster: 'b', weight: 1 }] },
                },
                {
                  name: 'rewrite',
                  match: { path: { prefix: '/api/' } },
                  route: {
                    clusters: [{ cluster: 'a', weight: 1 }],
                    rewrite: { prefix: '/v2/', authority: 'internal.a' },
                    requestHeaders: { set: { 'x-added': 'yes' }, remove: ['x-secret'] },
                    responseHeaders: { add: { 'x-served-by': 'strait' }, remove: ['x-upstream'] },
                  },
                },
                {
                  name: 'split',
                  match: { path: { prefix: '/split' } },
                  route: {
                    clusters: [
                      { cluster: 'a', weight: 80 },
                      { cluster: 'b', weight: 20 },
                    ],
                  },
                },
                {
                  name: 'mirror',
                  match: { path: { prefix: '/mirrored' } },
                  route: {
                    clusters: [{ cluster: 'a', weight: 1 }],
                    mirror: { cluster: 'b', percentage: 100 },
                  },
                },
                {
                  name: 'delayed',
                  match: { path: { prefix: '/delayed' } },
                  route: {
                    clusters: [{ cluster: 'a', weight: 1 }],
                    fault: { delay: { fixedDelayMs: 300, percentage: 100 } },
                  },
                },
                {
                  name: 'direct',
                  match: { path: { exact: '/hello' } },
                  directResponse: { status: 200, body: 'hi\n' },
                },
                route('default', 'a'),
              ],
            },
          ],
        },
      ],
      [cluster('a', ep(a)), cluster('b', ep(b))],
    ),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
});

async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await request(`http://${ADDR}:8080${path}`, {
    method,
    headers: { host: 'shop.example', ...headers },
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

function rawRequest(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: ADDR, port: 8080 });
    let out = '';
    socket.on('data', (d) => {
      out += d.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
    socket.write(text);
  });
}

describe('routing', () => {
  it('matches virtual hosts by authority, ignoring the port, and wildcards', async () => {
    expect((await get('/', { host: 'shop.example:8080' })).json().upstream).toBe('a');
    expect((await get('/', { host: 'eu.shop.example' })).json().upstream).toBe('a');
    const none = await get('/', { host: 'other.example' });
    expect(none.status).toBe(404);
  });

  it('matches exact path, header, query and method+regex in order', async () => {
    expect((await get('/only-b')).json().upstream).toBe('b');
    expect((await get('/only-b/x')).json().upstream).toBe('a');
    expect((await get('/x', { 'x-canary': 'yes' })).json().upstream).toBe('b');
    expect((await get('/x?v=b')).json().upstream).toBe('b');
    expect((await get('/x?v=a')).json().upstream).toBe('a');
    expect((await get('/items/42', {}, 'POST')).json().upstream).toBe('b');
    expect((await get('/items/42', {}, 'GET')).json().upstream).toBe('a');
    expect((await get('/items/42x', {}, 'POST')).json().upstream).toBe('a');
  });

  it('rewrites prefix and authority and applies header operations both ways', async () => {
    const res = await get('/api/users?q=1', { 'x-secret': 's' });
    expect(res.json().url).toBe('/v2/users?q=1');
    const seen = a.seen.at(-1);
    expect(seen?.headers.host).toBe('internal.a');
    expect(seen?.headers['x-added']).toBe('yes');
    expect(seen?.headers['x-secret']).toBeUndefined();
    expect(res.headers['x-served-by']).toBe('strait');
    expect(res.headers['x-upstream']).toBeUndefined();
  });

  it('mirrors a copy to the shadow cluster without changing the answer', async () => {
    const before = b.seen.length;
    const res = await get('/mirrored/x');
    expect(res.json().upstream).toBe('a');
    await waitFor('mirror copy', () => (b.seen.length > before ? true : undefined));
    const copy = b.seen.at(-1);
    expect(copy?.url).toBe('/mirrored/x');
    expect(copy?.headers.host).toBe('shop.example-shadow');
  });

  it('delays by fault injection and flags it DI', async () => {
    const started = performance.now();
    const res = await get('/delayed');
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    const text = await (await request(`http://${ADDR}:15090/stats/prometheus`)).body.text();
    expect(text).toMatch(/istio_requests_total\{[^}]*response_flags="DI"[^}]*\} 1/);
  });

  it('answers direct responses without an upstream', async () => {
    const res = await get('/hello');
    expect(res.status).toBe(200);
    expect(res.text).toBe('hi\n');
  });

  it('splits traffic by weight (80/20 within ±7 points over 400 requests)', async () => {
    let toB = 0;
    const n = 400;
    for (let i = 0; i < n; i++) if ((await get('/split')).json().upstream === 'b') toB++;
    expect(Math.abs((toB / n) * 100 - 20)).toBeLessThan(7);
  });

  it('sets proxy headers and drops hop-by-hop ones', async () => {
    // undici refuses to send connection-level headers, so this request is written by hand.
    await rawRequest(
      'GET / HTTP/1.1\r\nHost: shop.example\r\nConnection: close, x-hop\r\nX-Hop: drop me\r\nKeep-Alive: timeout=5\r\n' +
        'Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n',
    );
    const h = a.seen.at(-1)?.headers ?? {};
    expect(h['x-hop']).toBeUndefined();
    expect(h['keep-alive']).toBeUndefined();
    expect(h['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h.via).toContain('strait-ingress');
    expect(h.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(h['x-strait-peer']).toContain('workload=istio-ingressgateway');
    await get('/', { 'x-request-id': 'keep-this-id' });
    expect(a.seen.at(-1)?.headers['x-request-id']).toBe('keep-this-id');
  });

  it('streams request and response bodies', async () => {
    a.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    const payload = Buffer.alloc(3 * 1024 * 1024, 7);
    const res = await request(`http://${ADDR}:8080/echo`, {
      method: 'POST',
      headers: { host: 'shop.example' },
      body: payload,
    });
    const back = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    expect(back.equals(payload)).toBe(true);
  });
});
