// Cross-process: what a hostile (or merely unusual) client did to the proxies, each answered as Envoy
// would: Expect: 100-continue relayed, client faults never blamed on the upstream, peer labels only from
// config, path normalization before routing, a connection cap per listener, absolute-form at the ingress.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyUnderTest, startProxy, startSimpleIngress, waitFor } from './support/processes.ts';
import { rawExchange, readUntil } from './support/raw.ts';
import { cluster, listener, route, snapshot } from './support/snapshots.ts';
import { startUpstream, type TestUpstream } from './support/upstream.ts';

const NET = '127.0.140';
const run = promisify(execFile);

const raw = rawExchange;

async function scrape(address: string): Promise<string> {
  const res = await request(`http://${address}:15090/stats/prometheus`);
  return res.body.text();
}

/** The istio_requests_total series lines of a scrape. */
function requestSeries(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('istio_requests_total{'));
}

/** An ingress in front of one upstream with outlier detection that ejects after two failures. */
function guardedIngress(address: string, up: TestUpstream): Promise<ProxyUnderTest> {
  return startSimpleIngress(address, up, {
    cluster: {
      outlierDetection: {
        consecutive5xx: 2,
        consecutiveGatewayErrors: 2,
        intervalMs: 60_000,
        baseEjectionTimeMs: 60_000,
        maxEjectionPercent: 100,
      },
      panicThresholdPercent: 0,
    },
  });
}

async function notEjected(address: string): Promise<void> {
  const clusters = (await (await request(`http://${address}:15000/clusters`)).body.json()) as {
    name: string;
    hosts: { healthy: boolean; ejected: boolean; ejections: number }[];
  }[];
  const up = clusters.find((c) => c.name === 'up');
  expect(up?.hosts.map((h) => [h.healthy, h.ejected, h.ejections])).toEqual([[true, false, 0]]);
  const res = await request(`http://${address}:8080/still`);
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

describe('Expect: 100-continue', () => {
  const ADDR = `${NET}.10`;
  let up: TestUpstream;
  let proxy: ProxyUnderTest;
  const bodies: string[] = [];

  beforeAll(async () => {
    up = await startUpstream('up');
    up.handle((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        bodies.push(body);
        res.end(`got ${body.length}`);
      });
    });
    proxy = await guardedIngress(ADDR, up);
  });
  afterAll(async () => {
    await proxy?.stop();
    await up?.close();
  });

  it('answers 100 Continue, relays the body and the upstream answer, six times without an ejection', async () => {
    for (let i = 0; i < 6; i++) {
      const socket = connect({ host: ADDR, port: 8080 });
      socket.on('error', () => {});
      const body = 'x'.repeat(3000 + i);
      socket.write(
        `POST /upload HTTP/1.1\r\nHost: shop\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
      );
      const interim = await readUntil(socket, /\r\n\r\n/);
      expect(interim).toMatch(/^HTTP\/1\.1 100 Continue\r\n/);
      socket.write(body);
      const answer = await readUntil(socket, new RegExp(`got ${body.length}$`));
      expect(answer).toMatch(/HTTP\/1\.1 200 OK/);
      socket.destroy();
    }
    expect(bodies.slice(-6).map((b) => b.length)).toEqual([3000, 3001, 3002, 3003, 3004, 3005]);
    // The upstream never sees Expect: the proxy answered it.
    expect(up.seen.at(-1)?.headers.expect).toBeUndefined();
    await notEjected(ADDR);
  });

  it('relays a 2 MB upload from curl, which sends Expect: 100-continue with large bodies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strait-upload-'));
    const file = join(dir, '2MB.bin');
    writeFileSync(file, Buffer.alloc(2 * 1024 * 1024, 'b'));
    const { stdout, stderr } = await run('curl', [
      '-sv',
      '--data-binary',
      `@${file}`,
      `http://${ADDR}:8080/`,
    ]);
    expect(stderr).toMatch(/> Expect: 100-continue/i);
    expect(stderr).toMatch(/< HTTP\/1\.1 200/);
    expect(stdout).toBe(`got ${2 * 1024 * 1024}`);
  });
});

describe('client faults are the client’s', () => {
  const ADDR = `${NET}.20`;
  let up: TestUpstream;
  let proxy: ProxyUnderTest;

  beforeAll(async () => {
    up = await startUpstream('up');
    up.handle((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
      req.on('error', () => {});
    });
    proxy = await guardedIngress(ADDR, up);
  });
  afterAll(async () => {
    await proxy?.stop();
    await up?.close();
  });

  it('an invalid chunk size is 400 for the client, never UC, and never ejects the upstream', async () => {
    for (let i = 0; i < 6; i++) {
      const out = await raw(ADDR, 8080, [
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
        'zz\r\nhello\r\n0\r\n\r\n',
      ]);
      expect(out).toMatch(/^HTTP\/1\.1 400/);
    }
    await notEjected(ADDR);
    const series = requestSeries(await scrape(ADDR));
    expect(series.filter((l) => l.includes('response_flags="UC"'))).toEqual([]);
    expect(series.some((l) => l.includes('response_flags="DPE"') || l.includes('response_flags="DC"'))).toBe(
      true,
    );
  });

  it('a client that disconnects mid-body is DC, never UC, and never ejects the upstream', async () => {
    for (let i = 0; i < 6; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect({ host: ADDR, port: 8080 });
        socket.on('error', () => {});
        socket.write('POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
        socket.write('a'.repeat(1000));
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 150);
      });
    }
    await waitFor('six DC requests counted', async () => {
      const series = requestSeries(await scrape(ADDR)).filter((l) => l.includes('response_flags="DC"'));
      const total = series.reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
      return total >= 6 ? true : undefined;
    });
    const series = requestSeries(await scrape(ADDR));
    expect(series.filter((l) => l.includes('response_flags="UC"'))).toEqual([]);
    await notEjected(ADDR);
  });
});

describe('peer metadata comes from config, not from the request', () => {
  const ADDR = `${NET}.30`;
  let app: TestUpstream;
  let proxy: ProxyUnderTest;
  const knownPeer = 'workload=service-a-v1;namespace=default;app=service-a;version=v1';

  beforeAll(async () => {
    app = await startUpstream('app', ADDR);
    proxy = await startProxy({
      role: 'sidecar',
      address: ADDR,
      args: ['--workload', 'service-b-v1', '--service', 'service-b', '--version', 'v1'],
      snapshot: snapshot(
        [listener('inbound', 15006, [route('app', 'inbound|app')])],
        [cluster('inbound|app', [{ address: ADDR, port: app.port }], { service: 'service-b' })],
        {
          peers: [
            { workload: 'service-a-v1', namespace: 'default', app: 'service-a', version: 'v1' },
            { workload: 'istio-ingressgateway', namespace: 'istio-system', app: 'istio-ingressgateway' },
          ],
        },
      ),
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await app?.close();
  });

  it('labels a known peer with its configured labels and every forged one as unknown', async () => {
    const send = async (peer: string) => {
      const res = await request(`http://${ADDR}:15006/`, { headers: { 'x-strait-peer': peer } });
      await res.body.text();
      expect(res.statusCode).toBe(200);
    };
    await send(knownPeer);
    // A known workload claiming other labels still gets the labels the control plane gave it.
    await send('workload=service-a-v1;namespace=default;app=evil;version=v666');
    for (let i = 0; i < 300; i++)
      await send(`workload=forged-${i};namespace=ns-${i};app=a${i};version=v${i}`);
    const series = requestSeries(await scrape(ADDR));
    expect(series.length).toBe(2);
    const known = series.find((l) => l.includes('source_workload="service-a-v1"'));
    expect(known).toContain('source_app="service-a"');
    expect(known).toContain('source_version="v1"');
    expect(known?.split(' ').at(-1)).toBe('2');
    const unknown = series.find((l) => l.includes('source_workload="unknown"'));
    expect(unknown?.split(' ').at(-1)).toBe('300');
    expect(series.some((l) => l.includes('forged') || l.includes('evil'))).toBe(false);
  });
});

describe('path normalization (Istio MeshConfig pathNormalization, Envoy semantics)', () => {
  const FORMS = [
    '/x/../admin',
    '/./admin',
    '//admin',
    '/%61dmin',
    '/adm%69n',
    '/%2e%2e/admin',
    '/x/..%2fadmin',
  ];
  const modes = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'] as const;
  /** Which forms each mode turns into /admin (and so blocks). */
  const blocked: Record<(typeof modes)[number], string[]> = {
    NONE: [],
    BASE: ['/x/../admin', '/./admin', '/%61dmin', '/adm%69n', '/%2e%2e/admin'],
    MERGE_SLASHES: ['/x/../admin', '/./admin', '//admin', '/%61dmin', '/adm%69n', '/%2e%2e/admin'],
    DECODE_AND_MERGE_SLASHES: FORMS,
  };
  let up: TestUpstream;
  const proxies: ProxyUnderTest[] = [];

  beforeAll(async () => {
    up = await startUpstream('up');
    for (const [i, mode] of modes.entries()) {
      const gateway = listener('gateway', 8080, [
        {
          name: 'admin-blocked',
          match: { path: { prefix: '/admin' } },
          directResponse: { status: 403, body: 'blocked\n' },
        },
        route('all', 'up'),
      ]);
      proxies.push(
        await startProxy({
          role: 'ingress',
          address: `${NET}.${40 + i}`,
          snapshot: snapshot(
            [{ ...gateway, pathNormalization: mode }],
            [cluster('up', [{ address: up.address, port: up.port }])],
          ),
        }),
      );
    }
  });
  afterAll(async () => {
    for (const p of proxies) await p.stop();
    await up?.close();
  });

  for (const [i, mode] of modes.entries()) {
    it(`${mode}: blocks exactly the forms it normalizes to /admin`, async () => {
      const address = `${NET}.${40 + i}`;
      for (const form of FORMS) {
        const before = up.seen.length;
        const out = await raw(
          address,
          8080,
          `GET ${form} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n`,
        );
        const status = Number(out.slice(9, 12));
        if (blocked[mode].includes(form)) {
          expect({ form, status }).toEqual({ form, status: 403 });
          expect(up.seen.length).toBe(before);
        } else {
          expect({ form, status }).toEqual({ form, status: 200 });
          expect(up.seen.at(-1)?.url).not.toBe('/admin');
        }
      }
    });
  }

  it('sends the normalized path upstream and keeps the query as it was', async () => {
    const res = await request(`http://${NET}.43:8080/a/b/../%7e//c/.?q=%2e%2e/x`);
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(up.seen.at(-1)?.url).toBe('/a/~/c/?q=%2e%2e/x');
  });

  it('BASE is the default', async () => {
    const p = await startProxy({
      role: 'ingress',
      address: `${NET}.49`,
      snapshot: snapshot(
        [
          listener('gateway', 8080, [
            { name: 'b', match: { path: { prefix: '/admin' } }, directResponse: { status: 403 } },
            route('all', 'up'),
          ]),
        ],
        [cluster('up', [{ address: up.address, port: up.port }])],
      ),
    });
    try {
      const out = await raw(
        `${NET}.49`,
        8080,
        'GET /x/../admin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
      );
      expect(out).toMatch(/^HTTP\/1\.1 403/);
    } finally {
      await p.stop();
    }
  });
});

describe('a connection cap per listener', () => {
  const ADDR = `${NET}.60`;
  let up: TestUpstream;
  let proxy: ProxyUnderTest;
  const held: Socket[] = [];

  beforeAll(async () => {
    up = await startUpstream('up');
    proxy = await startSimpleIngress(ADDR, up, {
      listener: { maxConnections: 40 },
      args: ['--headers-timeout-ms', '800'],
    });
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await proxy?.stop();
    await up?.close();
  });

  it('answers connections over the cap with 503 overload, counts them, and admin keeps answering', async () => {
    for (let i = 0; i < 40; i++) {
      const s = connect({ host: ADDR, port: 8080 });
      s.on('error', () => {});
      held.push(s);
      await new Promise((r) => s.once('connect', r));
    }
    // Let the proxy see all 40 before the next one arrives.
    await waitFor('40 connections held', async () => {
      const text = await scrape(ADDR);
      return /strait_downstream_cx_active\{listener="gateway-8080"\} 40/.test(text) ? true : undefined;
    });
    const over = await raw(ADDR, 8080, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(over).toMatch(/^HTTP\/1\.1 503 /);
    expect(over.toLowerCase()).toContain('connection: close');
    expect(over).toContain('overload');
    const ready = await request(`http://${ADDR}:15021/healthz/ready`);
    expect(ready.statusCode).toBe(200);
    await ready.body.text();
    expect(await scrape(ADDR)).toMatch(/strait_downstream_cx_overflow_total\{listener="gateway-8080"\} 1/);

    // Once the flood goes away, new clients are served again.
    for (const s of held.splice(0)) s.destroy();
    await waitFor('served again', async () => {
      const res = await request(`http://${ADDR}:8080/`);
      await res.body.text();
      return res.statusCode === 200 ? true : undefined;
    });
  });
});

describe('slow clients that never read', () => {
  it('lose their connections after the header timeout even though they never read the 408', async () => {
    const ADDR = `${NET}.61`;
    const up = await startUpstream('up');
    const proxy = await startSimpleIngress(ADDR, up, { args: ['--headers-timeout-ms', '500'] });
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        const s = connect({ host: ADDR, port: 8080 });
        s.on('error', () => {});
        s.pause(); // never reads: never sees the 408 nor the proxy's FIN
        s.write('GET / HTTP/1.1\r\nHost: x\r\n');
        sockets.push(s);
      }
      await waitFor('30 connections open', async () =>
        /strait_downstream_cx_active\{listener="gateway-8080"\} 30/.test(await scrape(ADDR))
          ? true
          : undefined,
      );
      await waitFor(
        'the proxy to close them all',
        async () =>
          /strait_downstream_cx_active\{listener="gateway-8080"\} 0/.test(await scrape(ADDR))
            ? true
            : undefined,
        10_000,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await proxy.stop();
      await up.close();
    }
  });
});

describe('request targets at the ingress', () => {
  const ADDR = `${NET}.70`;
  let up: TestUpstream;
  let proxy: ProxyUnderTest;

  beforeAll(async () => {
    up = await startUpstream('up');
    proxy = await startSimpleIngress(ADDR, up, { domains: ['shop.example'] });
  });
  afterAll(async () => {
    await proxy?.stop();
    await up?.close();
  });

  it('accepts absolute-form and routes by its authority, not by Host (RFC 9112 §3.2.2)', async () => {
    const out = await raw(
      ADDR,
      8080,
      'GET http://shop.example/cart?x=1 HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(up.seen.at(-1)?.url).toBe('/cart?x=1');
    expect(up.seen.at(-1)?.headers.host).toBe('shop.example');
  });

  it('answers OPTIONS * itself, as a ping of the server', async () => {
    const before = up.seen.length;
    const out = await raw(
      ADDR,
      8080,
      'OPTIONS * HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(out.toLowerCase()).toContain('allow:');
    expect(up.seen.length).toBe(before);
  });

  it('says why an HTTP/1.1 request without Host is refused', async () => {
    const out = await raw(ADDR, 8080, 'GET / HTTP/1.1\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(out).toMatch(/\r\n\r\n.*Host/s);
  });
});
