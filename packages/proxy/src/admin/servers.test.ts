// Tests the admin, stats and readiness servers against a fake AdminContext, on 127.0.103.2/.3 port 0.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type AdminContext, type AdminServers, startAdminServers } from './servers.ts';

const ADMIN_HOST = '127.0.103.2';
const STATS_HOST = '127.0.103.3';

interface FakeContext extends AdminContext {
  ready: boolean;
  level: string;
  drains: number;
  failConfigDump: boolean;
}

function fakeContext(): FakeContext {
  const ctx: FakeContext = {
    ready: false,
    level: 'info',
    drains: 0,
    failConfigDump: false,
    configDump: () => {
      if (ctx.failConfigDump) throw new Error('boom');
      return { version: 'v1', listeners: [] };
    },
    clusters: () => [
      { name: 'outbound|80||service-b', endpoints: [{ address: '127.0.103.9', healthy: true }] },
    ],
    isReady: () => ctx.ready,
    setLogLevel: (level) => {
      if (!['debug', 'info', 'warn', 'error'].includes(level)) return false;
      ctx.level = level;
      return true;
    },
    drain: async () => {
      ctx.drains += 1;
      await new Promise((r) => setTimeout(r, 20));
    },
    metrics: async () => '# HELP up_test a test\n# TYPE up_test gauge\nup_test 1\n',
    metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
    serverInfo: () => ({ id: 'proxy-1', role: 'sidecar' }),
    certs: () => ({ secrets: [] }),
  };
  return ctx;
}

const toClose: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of toClose.splice(0)) await fn();
});

async function start(ctx: AdminContext): Promise<AdminServers> {
  const servers = await startAdminServers({
    adminAddress: ADMIN_HOST,
    adminPort: 0,
    statsAddress: STATS_HOST,
    statsPort: 0,
    readyPort: 0,
    ctx,
  });
  toClose.push(() => servers.close());
  return servers;
}

async function call(
  host: string,
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`http://${host}:${port}${path}`, { method });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

describe('admin server', () => {
  it('reports the bound ports', async () => {
    const { ports } = await start(fakeContext());
    expect(ports.admin).toBeGreaterThan(0);
    expect(ports.stats).toBeGreaterThan(0);
    expect(ports.ready).toBeGreaterThan(0);
    expect(ports.stats).not.toBe(ports.ready);
  });

  it('serves config_dump, clusters and server_info as JSON', async () => {
    const { ports } = await start(fakeContext());
    const dump = await call(ADMIN_HOST, ports.admin, '/config_dump');
    expect(dump.status).toBe(200);
    expect(dump.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(dump.body)).toEqual({ version: 'v1', listeners: [] });
    const clusters = await call(ADMIN_HOST, ports.admin, '/clusters');
    expect(JSON.parse(clusters.body)[0].name).toBe('outbound|80||service-b');
    const info = await call(ADMIN_HOST, ports.admin, '/server_info');
    expect(JSON.parse(info.body)).toEqual({ id: 'proxy-1', role: 'sidecar' });
  });

  it('answers /ready with the server state', async () => {
    const ctx = fakeContext();
    const { ports } = await start(ctx);
    expect(await call(ADMIN_HOST, ports.admin, '/ready')).toMatchObject({
      status: 503,
      body: 'INITIALIZING\n',
    });
    ctx.ready = true;
    expect(await call(ADMIN_HOST, ports.admin, '/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });
    const head = await call(ADMIN_HOST, ports.admin, '/ready', 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
  });

  it('changes the log level on POST /logging and refuses bad levels', async () => {
    const ctx = fakeContext();
    const { ports } = await start(ctx);
    const ok = await call(ADMIN_HOST, ports.admin, '/logging?level=debug', 'POST');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ level: 'debug' });
    expect(ctx.level).toBe('debug');
    const bad = await call(ADMIN_HOST, ports.admin, '/logging?level=loud', 'POST');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'STRAIT_BAD_REQUEST' });
    expect(bad.body).toContain('loud');
    expect((await call(ADMIN_HOST, ports.admin, '/logging', 'POST')).status).toBe(400);
    expect(ctx.level).toBe('debug');
  });

  it('drains on POST /drain, after which both readiness endpoints say no', async () => {
    const ctx = fakeContext();
    ctx.ready = true;
    const { ports } = await start(ctx);
    expect((await call(STATS_HOST, ports.ready, '/healthz/ready')).status).toBe(200);
    const drained = await call(ADMIN_HOST, ports.admin, '/drain', 'POST');
    expect(drained).toMatchObject({ status: 200, body: 'OK\n' });
    expect(ctx.drains).toBe(1);
    expect(await call(ADMIN_HOST, ports.admin, '/ready')).toMatchObject({ status: 503, body: 'DRAINING\n' });
    expect((await call(STATS_HOST, ports.ready, '/healthz/ready')).status).toBe(503);
  });

  it('answers 404 for unknown paths, 405 with Allow for wrong methods, 500 when a handler throws', async () => {
    const ctx = fakeContext();
    const { ports } = await start(ctx);
    const missing = await call(ADMIN_HOST, ports.admin, '/nope');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'STRAIT_NOT_FOUND' });
    const wrong = await call(ADMIN_HOST, ports.admin, '/config_dump', 'POST');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
    const getDrain = await call(ADMIN_HOST, ports.admin, '/drain');
    expect(getDrain.status).toBe(405);
    expect(getDrain.headers.get('allow')).toBe('POST');
    expect(ctx.drains).toBe(0);
    ctx.failConfigDump = true;
    const failed = await call(ADMIN_HOST, ports.admin, '/config_dump');
    expect(failed.status).toBe(500);
    // The server survives a failing handler.
    expect((await call(ADMIN_HOST, ports.admin, '/server_info')).status).toBe(200);
  });
});

describe('stats and readiness servers', () => {
  it('serves Prometheus text on the stats port only at /stats/prometheus', async () => {
    const { ports } = await start(fakeContext());
    const stats = await call(STATS_HOST, ports.stats, '/stats/prometheus');
    expect(stats.status).toBe(200);
    expect(stats.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(stats.body).toContain('up_test 1');
    expect((await call(STATS_HOST, ports.stats, '/config_dump')).status).toBe(404);
    expect((await call(STATS_HOST, ports.stats, '/stats/prometheus', 'POST')).status).toBe(405);
    // The admin port serves the same metrics, as Envoy's admin does.
    expect((await call(ADMIN_HOST, ports.admin, '/stats/prometheus')).body).toContain('up_test 1');
  });

  it('answers /healthz/ready with 503 until ready, then 200', async () => {
    const ctx = fakeContext();
    const { ports } = await start(ctx);
    expect((await call(STATS_HOST, ports.ready, '/healthz/ready')).status).toBe(503);
    ctx.ready = true;
    expect((await call(STATS_HOST, ports.ready, '/healthz/ready')).status).toBe(200);
    expect((await call(STATS_HOST, ports.ready, '/ready')).status).toBe(404);
  });

  it('fails to start when a port is taken, leaving nothing listening', async () => {
    const blocker = http.createServer();
    blocker.listen(0, STATS_HOST);
    await once(blocker, 'listening');
    toClose.push(() => new Promise((r) => blocker.close(() => r())));
    const takenPort = (blocker.address() as AddressInfo).port;
    const listening = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    await new Promise((r) => setTimeout(r, 50));
    const before = listening();
    await expect(
      startAdminServers({
        adminAddress: ADMIN_HOST,
        adminPort: 0,
        statsAddress: STATS_HOST,
        statsPort: 0,
        readyPort: takenPort,
        ctx: fakeContext(),
      }),
    ).rejects.toThrow(/readiness server could not listen on 127\.0\.103\.3:\d+: .*EADDRINUSE/);
    await new Promise((r) => setTimeout(r, 50));
    expect(listening()).toBe(before);
  });
});
