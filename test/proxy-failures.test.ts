// Cross-process: failures answer like Envoy (NR, UH, UF, UT, UO, RL, FI), retries, health checks and ejection.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyUnderTest, startProxy, waitFor } from './support/processes.ts';
import { cluster, snapshot } from './support/snapshots.ts';
import { startUpstream, type TestUpstream } from './support/upstream.ts';

const ADDR = '127.0.100.10';
let good: TestUpstream;
let slow: TestUpstream;
let flaky: TestUpstream;
let checked1: TestUpstream;
let checked2: TestUpstream;
let proxy: ProxyUnderTest;
let flakyCalls = 0;
let checked1Status = 200;

beforeAll(async () => {
  good = await startUpstream('good');
  slow = await startUpstream('slow');
  slow.handle((req, res) => {
    req.resume();
    setTimeout(() => res.end('late'), 1500);
  });
  flaky = await startUpstream('flaky');
  // Every other request is cut off mid-stream before any response byte.
  flaky.handle((req, res) => {
    req.resume();
    flakyCalls++;
    if (flakyCalls % 2 === 1) req.socket.destroy();
    else res.end('survived');
  });
  checked1 = await startUpstream('checked1');
  checked1.handle((req, res) => {
    req.resume();
    if (req.url === '/healthz') res.writeHead(checked1Status).end();
    else res.end('checked1');
  });
  checked2 = await startUpstream('checked2');
  checked2.handle((req, res) => {
    req.resume();
    res.end(req.url === '/healthz' ? '' : 'checked2');
  });

  const r = (name: string, path: string, cl: string, extra: object = {}) => ({
    name,
    match: { path: { prefix: path } },
    route: { clusters: [{ cluster: cl, weight: 1 }], ...extra },
  });
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
              name: 'all',
              domains: ['*'],
              routes: [
                r('uh', '/uh', 'empty'),
                r('uf', '/uf', 'closed'),
                r('ut', '/ut', 'slow', { timeoutMs: 300 }),
                r('uo', '/uo', 'breaker'),
                r('rl', '/rl', 'good', {
                  rateLimit: { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 60_000 },
                }),
                r('fi', '/fi', 'good', { fault: { abort: { httpStatus: 418, percentage: 100 } } }),
                r('retry', '/retry', 'flaky', {
                  retry: { attempts: 2, retryOn: ['reset', 'connect-failure'] },
                }),
                r('noretry', '/noretry', 'flaky'),
                r('health', '/health', 'checked'),
                {
                  name: 'nr-only',
                  match: { path: { exact: '/exists' } },
                  route: { clusters: [{ cluster: 'good', weight: 1 }] },
                },
              ],
            },
          ],
        },
      ],
      [
        cluster('good', [{ address: good.address, port: good.port }]),
        cluster('empty', []),
        cluster('closed', [{ address: '127.0.100.11', port: 9 }]),
        cluster('slow', [{ address: slow.address, port: slow.port }]),
        cluster('breaker', [{ address: slow.address, port: slow.port }], {
          circuitBreakers: { maxRequests: 1, maxPendingRequests: 1 },
        }),
        cluster('flaky', [{ address: flaky.address, port: flaky.port }]),
        cluster(
          'checked',
          [
            { address: checked1.address, port: checked1.port },
            { address: checked2.address, port: checked2.port },
          ],
          {
            panicThresholdPercent: 0,
            healthCheck: {
              path: '/healthz',
              intervalMs: 100,
              timeoutMs: 500,
              healthyThreshold: 1,
              unhealthyThreshold: 2,
            },
          },
        ),
      ],
    ),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([good, slow, flaky, checked1, checked2].map((u) => u?.close()));
});

async function get(path: string) {
  const res = await request(`http://${ADDR}:8080${path}`);
  return { status: res.statusCode, text: await res.body.text() };
}

/** The istio_requests_total lines of the proxy's metrics. */
async function requestCounters(): Promise<string> {
  const res = await request(`http://${ADDR}:15090/stats/prometheus`);
  const text = await res.body.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('istio_requests_total'))
    .join('\n');
}

describe('failures answer like Envoy', () => {
  it('404 NR when no route matches', async () => {
    expect((await get('/nothing-here')).status).toBe(404);
  });

  it('503 UH without a healthy endpoint', async () => {
    const r = await get('/uh');
    expect(r.status).toBe(503);
    expect(r.text).toContain('no healthy upstream');
  });

  it('503 UF when the upstream refuses the connection', async () => {
    expect((await get('/uf')).status).toBe(503);
  });

  it('504 UT when the route timeout passes', async () => {
    const r = await get('/ut');
    expect(r.status).toBe(504);
    expect(r.text).toContain('upstream request timeout');
  });

  it('503 UO when the circuit breaker is open', async () => {
    const results = await Promise.all([get('/uo'), get('/uo'), get('/uo'), get('/uo')]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toContain(200);
    expect(statuses).toContain(503);
    expect(results.find((r) => r.status === 503)?.text).toContain('overflow');
  });

  it('429 RL when the route bucket is empty', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get('/rl')).status);
    expect(statuses.slice(0, 2)).toEqual([200, 200]);
    expect(statuses.slice(2)).toEqual([429, 429]);
  });

  it('fault injection aborts with the configured status', async () => {
    expect((await get('/fi')).status).toBe(418);
  });

  it('every flag reaches the metrics', async () => {
    const lines = await requestCounters();
    for (const flag of ['NR', 'UH', 'UF', 'UT', 'UO', 'RL', 'FI'])
      expect(lines).toContain(`response_flags="${flag}"`);
  });
});

describe('retries', () => {
  it('retries a request whose upstream was cut off mid-stream', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await get('/retry');
      expect(r.status).toBe(200);
      expect(r.text).toBe('survived');
    }
  });

  it('without a retry policy the reset reaches the client as 503', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get('/noretry')).status);
    expect(statuses).toContain(503);
  });
});

describe('active health checks', () => {
  it('eject an endpoint that fails its checks and re-admit it when it recovers', async () => {
    const who = async () => (await get('/health')).text;
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(await who());
    expect(seen).toEqual(new Set(['checked1', 'checked2']));

    checked1Status = 500;
    await waitFor('checked1 ejected', async () => {
      const s = new Set<string>();
      for (let i = 0; i < 10; i++) s.add(await who());
      return s.size === 1 && s.has('checked2') ? true : undefined;
    });
    const clusters = await (await request(`http://${ADDR}:15000/clusters`)).body.text();
    expect(clusters).toContain('unhealthy');

    checked1Status = 200;
    await waitFor('checked1 back', async () => {
      const s = new Set<string>();
      for (let i = 0; i < 10; i++) s.add(await who());
      return s.has('checked1') ? true : undefined;
    });
  });
});
