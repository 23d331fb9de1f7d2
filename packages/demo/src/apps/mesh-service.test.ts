// The demo apps on their own: the answer's shape, failure and delay knobs, health, header
// propagation, and absolute-form requests through an HTTP proxy (what a sidecar expects).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startExternalApi } from './external-api.ts';
import { type MeshServiceOptions, type RunningApp, startMeshService, viaList } from './mesh-service.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

function options(over: Partial<MeshServiceOptions>): MeshServiceOptions {
  return {
    service: 'service-b',
    version: 'v2',
    pod: 'service-b-v2-1',
    address: '127.0.0.1',
    port: 0,
    upstreamUrl: '',
    httpProxy: '',
    failRate: 0,
    failStatus: 500,
    delayMs: 0,
    unhealthy: false,
    upstreamTimeoutMs: 2000,
    logLevel: 'silent',
    ...over,
  };
}

async function app(over: Partial<MeshServiceOptions>): Promise<RunningApp> {
  const a = await startMeshService(options(over));
  closers.push(() => a.close());
  return a;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return `127.0.0.1:${address.port}`;
}

describe('mesh service app', () => {
  it('wraps the upstream answer with its identity and the Via header it received', async () => {
    const ext = await startExternalApi({ address: '127.0.0.1', port: 0, name: 'api.partner.example' });
    closers.push(() => ext.close());
    const b = await app({ upstreamUrl: ext.url });
    const res = await fetch(b.url, { headers: { via: '1.1 a (strait-sidecar), 1.1 b' } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      service: 'service-b',
      version: 'v2',
      pod: 'service-b-v2-1',
      via: ['1.1 a (strait-sidecar)', '1.1 b'],
      upstream: { service: 'external-api', name: 'api.partner.example' },
    });
  });

  it('has the external API stand-in answer with the Via header it received', async () => {
    const ext = await startExternalApi({ address: '127.0.0.1', port: 0, name: 'api.partner.example' });
    closers.push(() => ext.close());
    const res = await fetch(ext.url, {
      headers: { via: '1.1 b (strait-sidecar), 1.1 egress (strait-egress)' },
    });
    expect(await res.json()).toMatchObject({
      service: 'external-api',
      via: ['1.1 b (strait-sidecar)', '1.1 egress (strait-egress)'],
    });
  });

  it('answers 502 naming the problem when the upstream fails or cannot be reached', async () => {
    const failing = await app({ failRate: 1, failStatus: 503 });
    const a = await app({ service: 'service-a', upstreamUrl: failing.url });
    const res = await fetch(a.url);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'upstream answered 503', upstream: { status: 503 } });

    const dead = await app({ service: 'service-a', upstreamUrl: 'http://127.0.0.1:1/' });
    const res2 = await fetch(dead.url);
    expect(res2.status).toBe(502);
    expect(((await res2.json()) as { error: string }).error).toMatch(/upstream call failed/);
  });

  it('fails, slows down and reports unhealthy as configured', async () => {
    const failing = await app({ failRate: 1, failStatus: 500 });
    expect((await fetch(failing.url)).status).toBe(500);
    expect((await fetch(`${failing.url}healthz`)).status).toBe(200);

    const sick = await app({ unhealthy: true });
    expect((await fetch(`${sick.url}healthz`)).status).toBe(503);

    const slow = await app({ delayMs: 300 });
    const started = Date.now();
    expect((await fetch(slow.url)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('sends absolute-form requests to its HTTP proxy and passes on x-request-id and the trace headers', async () => {
    const seen: IncomingMessage[] = [];
    const proxy = createServer((req, res) => {
      seen.push(req);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"service":"service-b"}');
    });
    const proxyAddress = await listen(proxy);
    const a = await app({
      service: 'service-a',
      upstreamUrl: 'http://service-b/',
      httpProxy: `http://${proxyAddress}`,
    });
    const b3 = { b3: 'abc-def-1', 'x-b3-traceid': 'abc', 'x-b3-spanid': 'def', 'x-b3-sampled': '1' };
    const res = await fetch(a.url, {
      headers: {
        'x-request-id': 'req-1',
        traceparent: '00-abc-def-01',
        tracestate: 'v=1',
        ...b3,
        other: 'x',
      },
    });
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.method).toBe('GET');
    expect(seen[0]?.url).toBe('http://service-b/');
    expect(seen[0]?.headers.host).toBe('service-b');
    expect(seen[0]?.headers['x-request-id']).toBe('req-1');
    expect(seen[0]?.headers.traceparent).toBe('00-abc-def-01');
    expect(seen[0]?.headers).toMatchObject({ tracestate: 'v=1', ...b3 });
    expect(seen[0]?.headers.other).toBeUndefined();
  });

  it('parses Via lists', () => {
    expect(viaList(undefined)).toEqual([]);
    expect(viaList(' 1.1 a ,1.1 b')).toEqual(['1.1 a', '1.1 b']);
    expect(viaList(['1.1 a', '1.1 b, 1.1 c'])).toEqual(['1.1 a', '1.1 b', '1.1 c']);
  });
});
