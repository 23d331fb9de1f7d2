// UpstreamCluster and ClusterManager: panic mode, circuit breakers, hash keys, outlier wiring,
// ORIGINAL_DST, incremental updates and the status dump. No sockets: Pools are created but never used.
import { type Cluster, ClusterSchema as Schema, type SnapshotInput } from '@strait/api';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { lookupOf } from '../codec/headers.ts';
import type { HealthCheckTarget, Prober } from '../health/active.ts';
import type { ProbeResult } from '../health/state.ts';
import { UpstreamCluster } from './cluster.ts';
import { ClusterManager } from './cluster-manager.ts';
import { cookieValue } from './hash-key.ts';
import type { BreakerName, ChooseContext } from './types.ts';

const logger = pino({ level: 'silent' });
const ctx: ChooseContext = { headers: lookupOf({}), sourceIp: '127.0.0.1' };

function cluster(
  input: Partial<SnapshotInput['clusters'][number]> & { endpoints?: unknown[] } = {},
): Cluster {
  return Schema.parse({
    name: 'outbound|80||service-b',
    endpoints: [
      { address: '127.0.101.1', port: 8080 },
      { address: '127.0.101.2', port: 8080 },
      { address: '127.0.101.3', port: 8080 },
      { address: '127.0.101.4', port: 8080 },
    ],
    ...input,
  });
}

const open: UpstreamCluster[] = [];
function make(config: Cluster, opts: { now?: () => number; prober?: Prober; events?: object } = {}) {
  const c = new UpstreamCluster(config, { logger, ...opts });
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

describe('choose()', () => {
  it('round-robins over healthy hosts and skips control-plane UNHEALTHY/DRAINING ones', () => {
    const c = make(
      cluster({
        endpoints: [
          { address: '127.0.101.1', port: 8080 },
          { address: '127.0.101.2', port: 8080, health: 'DRAINING' },
          { address: '127.0.101.3', port: 8080 },
          { address: '127.0.101.4', port: 8080 },
        ],
        panicThresholdPercent: 50,
      }),
    );
    const picked = new Set(Array.from({ length: 30 }, () => c.choose(ctx)?.key));
    expect([...picked].sort()).toEqual(['127.0.101.1:8080', '127.0.101.3:8080', '127.0.101.4:8080']);
  });

  it('enters panic mode below the threshold and uses every host', () => {
    const c = make(cluster({ panicThresholdPercent: 50 }));
    const [a, b, d] = c.hosts;
    if (!a || !b || !d) throw new Error('hosts');
    a.outlier.ejectedUntil = Number.MAX_SAFE_INTEGER;
    b.outlier.ejectedUntil = Number.MAX_SAFE_INTEGER;
    // 2 of 4 healthy = 50 %: not below the threshold, only healthy hosts.
    const healthyOnly = new Set(Array.from({ length: 20 }, () => c.choose(ctx)?.key));
    expect(healthyOnly.has(a.key)).toBe(false);
    expect(c.status().panics).toBe(0);
    d.outlier.ejectedUntil = Number.MAX_SAFE_INTEGER;
    // 1 of 4 = 25 %: panic, all four get traffic.
    const all = new Set(Array.from({ length: 20 }, () => c.choose(ctx)?.key));
    expect(all.size).toBe(4);
    expect(c.status().panics).toBe(20);
  });

  it('with panic threshold 0 and nothing healthy returns undefined; no endpoints returns undefined', () => {
    const c = make(cluster({ panicThresholdPercent: 0 }));
    for (const h of c.hosts) h.outlier.ejectedUntil = Number.MAX_SAFE_INTEGER;
    expect(c.choose(ctx)).toBeUndefined();
    expect(make(cluster({ endpoints: [] })).choose(ctx)).toBeUndefined();
  });

  it('CONSISTENT_HASH keys by header, cookie or source IP', () => {
    const byHeader = make(cluster({ lbPolicy: 'CONSISTENT_HASH', hashPolicy: { header: 'X-User' } }));
    const first = byHeader.choose({ headers: lookupOf({ 'x-user': 'alice' }), sourceIp: '1.1.1.1' });
    for (let i = 0; i < 20; i++) {
      expect(byHeader.choose({ headers: lookupOf({ 'x-user': 'alice' }), sourceIp: `10.0.0.${i}` })).toBe(
        first,
      );
    }
    const byCookie = make(cluster({ lbPolicy: 'CONSISTENT_HASH', hashPolicy: { cookie: 'session' } }));
    const s = byCookie.choose({ headers: lookupOf({ cookie: 'a=1; session=xyz' }), sourceIp: '1.1.1.1' });
    for (let i = 0; i < 20; i++) {
      expect(
        byCookie.choose({ headers: lookupOf({ cookie: `session=xyz; b=${i}` }), sourceIp: '2.2.2.2' }),
      ).toBe(s);
    }
    const byIp = make(cluster({ lbPolicy: 'CONSISTENT_HASH', hashPolicy: { sourceIp: true } }));
    const ip = byIp.choose({ headers: lookupOf({}), sourceIp: '10.1.2.3' });
    for (let i = 0; i < 20; i++)
      expect(byIp.choose({ headers: lookupOf({}), sourceIp: '10.1.2.3' })).toBe(ip);
    // Different keys spread over several hosts.
    const spread = new Set(
      Array.from(
        { length: 50 },
        (_, i) => byIp.choose({ headers: lookupOf({}), sourceIp: `10.9.0.${i}` })?.key,
      ),
    );
    expect(spread.size).toBeGreaterThan(2);
  });

  it('cookieValue parses a Cookie header', () => {
    expect(cookieValue('a=1; session="x y"; c=3', 'session')).toBe('x y');
    expect(cookieValue('a=1', 'session')).toBeUndefined();
    expect(cookieValue(undefined, 'session')).toBeUndefined();
  });
});

describe('circuit breakers', () => {
  it('maxRequests limits in-flight requests and counts opens', () => {
    const opens: BreakerName[] = [];
    const c = make(cluster({ circuitBreakers: { maxRequests: 3 } }), {
      events: { circuitOpen: (_c: unknown, b: BreakerName) => opens.push(b) },
    });
    expect([c.acquireRequest(), c.acquireRequest(), c.acquireRequest()]).toEqual([true, true, true]);
    expect(c.acquireRequest()).toBe(false);
    expect(c.acquireRequest()).toBe(false);
    c.releaseRequest();
    expect(c.acquireRequest()).toBe(true);
    expect(c.status().circuitOpens.max_requests).toBe(2);
    expect(opens).toEqual(['max_requests', 'max_requests']);
    expect(c.status().activeRequests).toBe(3);
  });

  it('maxPendingRequests counts requests beyond maxConnections (Istio: 1 connection, 1 pending)', () => {
    const c = make(cluster({ circuitBreakers: { maxConnections: 1, maxPendingRequests: 1 } }));
    expect(c.acquireRequest()).toBe(true); // uses the connection
    expect(c.acquireRequest()).toBe(true); // waits for it
    expect(c.acquireRequest()).toBe(false);
    expect(c.status().circuitOpens.max_pending_requests).toBe(1);
    c.releaseRequest();
    expect(c.acquireRequest()).toBe(true);
  });

  it('maxRetries limits concurrent retries; release never goes below zero', () => {
    const c = make(cluster({ circuitBreakers: { maxRetries: 1 } }));
    expect(c.acquireRetry()).toBe(true);
    expect(c.acquireRetry()).toBe(false);
    c.releaseRetry();
    c.releaseRetry();
    c.releaseRequest();
    expect(c.status().activeRetries).toBe(0);
    expect(c.status().activeRequests).toBe(0);
    expect(c.acquireRetry()).toBe(true);
    expect(c.status().circuitOpens.max_retries).toBe(1);
    expect(make(cluster({ circuitBreakers: { maxRetries: 0 } })).acquireRetry()).toBe(false);
  });

  it('defaults allow 1024 concurrent requests', () => {
    const c = make(cluster());
    for (let i = 0; i < 1024; i++) expect(c.acquireRequest()).toBe(true);
    expect(c.acquireRequest()).toBe(false);
  });
});

describe('outlier detection through the cluster', () => {
  it('ejects on reported errors, emits events and re-admits after the time (lazily and on sweep)', () => {
    let now = 1_000_000;
    const ejected: string[] = [];
    const counts: Array<[number, number]> = [];
    const c = make(
      cluster({
        panicThresholdPercent: 0,
        outlierDetection: {
          consecutiveGatewayErrors: 2,
          intervalMs: 1000,
          baseEjectionTimeMs: 5000,
          maxEjectionPercent: 50,
        },
      }),
      {
        now: () => now,
        events: {
          ejection: (_c: unknown, h: { key: string }) => ejected.push(h.key),
          healthyCount: (_c: unknown, healthy: number, total: number) => counts.push([healthy, total]),
        },
      },
    );
    const bad = c.hosts[0];
    if (!bad) throw new Error('host');
    c.reportResult(bad, { error: 'connect-failure' });
    c.reportResult(bad, { status: 503 });
    expect(ejected).toEqual([bad.key]);
    expect(counts.at(-1)).toEqual([3, 4]);
    for (let i = 0; i < 30; i++) expect(c.choose(ctx)).not.toBe(bad);
    const st = c.status().hosts.find((h) => h.address === bad.address);
    expect(st).toMatchObject({ ejected: true, ejectedUntil: now + 5000, healthy: false, ejections: 1 });
    now += 5000;
    expect(new Set(Array.from({ length: 8 }, () => c.choose(ctx))).has(bad)).toBe(true);
    c.sweepOutliers();
    expect(counts.at(-1)).toEqual([4, 4]);
  });
});

describe('ORIGINAL_DST', () => {
  it('creates a host per destination on demand and reuses it', () => {
    const c = make(cluster({ name: 'PassthroughCluster', type: 'ORIGINAL_DST', endpoints: [] }));
    const a = c.choose({ ...ctx, originalDestination: { address: '127.0.101.9', port: 9000 } });
    const b = c.choose({ ...ctx, originalDestination: { address: '127.0.101.9', port: 9000 } });
    const v6 = c.choose({ ...ctx, originalDestination: { address: '::1', port: 9000 } });
    expect(a).toBeDefined();
    expect(b).toBe(a);
    expect(a?.origin).toBe('http://127.0.101.9:9000');
    expect(v6?.origin).toBe('http://[::1]:9000');
    expect(c.choose(ctx)).toBeUndefined();
    expect(c.choose({ ...ctx, originalDestination: { address: 'x', port: 0 } })).toBeUndefined();
    expect(c.choose({ ...ctx, originalDestination: { address: 'a b/c', port: 80 } })).toBeUndefined();
    expect(c.status().hosts.map((h) => h.port)).toEqual([9000, 9000]);
  });

  it('closes idle destinations', () => {
    let now = 0;
    const c = make(cluster({ name: 'PassthroughCluster', type: 'ORIGINAL_DST', endpoints: [] }), {
      now: () => now,
    });
    c.choose({ ...ctx, originalDestination: { address: '127.0.101.9', port: 9000 } });
    now = 120_000;
    c.sweepOriginalDst();
    expect(c.hosts).toHaveLength(0);
  });
});

class FailingProber implements Prober {
  async probe(_t: HealthCheckTarget): Promise<ProbeResult> {
    return 'failure';
  }
  forget(): void {}
  async close(): Promise<void> {}
}

describe('ClusterManager', () => {
  it('updates incrementally: unchanged left alone, hosts and pools kept, removed hosts closed', async () => {
    const manager = new ClusterManager({ logger });
    const b = cluster();
    const other = cluster({ name: 'inbound|8080||', endpoints: [{ address: '127.0.101.20', port: 8080 }] });
    manager.update([b, other]);
    const clusterB = manager.get(b.name);
    const otherCluster = manager.get(other.name);
    const [h1, h2] = clusterB?.hosts ?? [];
    const pool1 = h1?.pool;
    if (h1) h1.outlier.ejections = 2;

    const changed = cluster({
      endpoints: [
        { address: '127.0.101.1', port: 8080, weight: 5, labels: { version: 'v2' } },
        { address: '127.0.101.5', port: 8080 },
      ],
    });
    manager.update([changed, structuredClone(other)]);
    expect(manager.get(other.name)).toBe(otherCluster);
    expect(manager.get(b.name)).toBe(clusterB);
    const hosts = clusterB?.hosts ?? [];
    expect(hosts.map((h) => h.key)).toEqual(['127.0.101.1:8080', '127.0.101.5:8080']);
    expect(hosts[0]).toBe(h1);
    expect(hosts[0]?.pool).toBe(pool1);
    expect(hosts[0]?.weight).toBe(5);
    expect(hosts[0]?.outlier.ejections).toBe(2); // health state kept
    expect(h2?.pool.closed).toBe(true);

    // A pool setting changes: same Host, new Pool, old one closed.
    manager.update([{ ...changed, idleTimeoutMs: 2000 }, other]);
    expect(clusterB?.hosts[0]).toBe(h1);
    expect(h1?.pool).not.toBe(pool1);
    expect(pool1?.closed).toBe(true);

    // Removal closes the cluster.
    manager.update([other]);
    expect(manager.get(b.name)).toBeUndefined();
    expect(manager.dump().map((s) => s.name)).toEqual([other.name]);
    await manager.close();
    expect(manager.dump()).toEqual([]);
  });

  it('refuses duplicate names without changing anything', async () => {
    const manager = new ClusterManager({ logger });
    manager.update([cluster()]);
    const before = manager.get(cluster().name);
    expect(() => manager.update([cluster({ name: 'x' }), cluster({ name: 'x' })])).toThrow(/defined twice/);
    const badAddress = cluster({ name: 'y', endpoints: [{ address: 'bad host/', port: 80 }] });
    expect(() => manager.update([badAddress])).toThrow(/not a valid host/);
    expect(() => ClusterManager.validate([{ ...cluster(), lbPolicy: 'MAGLEV' as 'RANDOM' }])).toThrow(
      /lbPolicy/,
    );
    expect(manager.get(cluster().name)).toBe(before);
    await manager.close();
  });

  it('restarts health checks only when their settings change; removing them resets hosts', async () => {
    const manager = new ClusterManager({ logger, prober: new FailingProber() });
    const hc = { path: '/healthz', intervalMs: 10, timeoutMs: 5, healthyThreshold: 1, unhealthyThreshold: 1 };
    manager.update([cluster({ healthCheck: hc })]);
    const c = manager.get(cluster().name);
    await new Promise((r) => setTimeout(r, 50));
    expect(c?.hosts.every((h) => h.activeHealth.status === 'unhealthy')).toBe(true);
    expect(c?.status().hosts[0]?.activeHealth).toBe('unhealthy');
    manager.update([cluster({ healthCheck: hc, connectTimeoutMs: 500 })]);
    expect(c?.hosts.every((h) => h.activeHealth.status === 'unhealthy')).toBe(true);
    manager.update([cluster()]);
    expect(c?.hosts.every((h) => h.activeHealth.status === 'unchecked')).toBe(true);
    await manager.close();
  });

  it('a change to other settings does not restart the checker; a changed health check does', async () => {
    let probes = 0;
    const prober: Prober = {
      probe: async () => {
        probes++;
        return 'success';
      },
      forget: () => {},
      close: async () => {},
    };
    const manager = new ClusterManager({ logger, prober });
    const hc = {
      path: '/healthz',
      intervalMs: 3_600_000,
      timeoutMs: 5,
      healthyThreshold: 1,
      unhealthyThreshold: 1,
    };
    const settle = () => new Promise((r) => setTimeout(r, 30));
    manager.update([cluster({ healthCheck: hc })]);
    await settle();
    expect(probes).toBe(4);
    manager.update([cluster({ healthCheck: hc, connectTimeoutMs: 500, lbPolicy: 'RANDOM' })]);
    await settle();
    expect(probes).toBe(4);
    // A new endpoint gets its own first probe without restarting the others.
    const five = [1, 2, 3, 4, 5].map((i) => ({ address: `127.0.101.${i}`, port: 8080 }));
    manager.update([cluster({ healthCheck: hc, connectTimeoutMs: 500, endpoints: five })]);
    await settle();
    expect(probes).toBe(5);
    manager.update([cluster({ healthCheck: { ...hc, path: '/ready' }, endpoints: five })]);
    await settle();
    expect(probes).toBe(10);
    await manager.close();
  });

  it('status lists hosts with their labels and weights', async () => {
    const manager = new ClusterManager({ logger });
    manager.update([
      cluster({
        lbPolicy: 'LEAST_REQUEST',
        service: 'service-b',
        endpoints: [{ address: '127.0.101.1', port: 15006, weight: 3, labels: { version: 'v1' } }],
      }),
    ]);
    expect(manager.dump()[0]).toMatchObject({
      name: 'outbound|80||service-b',
      type: 'STATIC',
      lbPolicy: 'LEAST_REQUEST',
      service: 'service-b',
      hosts: [
        {
          address: '127.0.101.1',
          port: 15006,
          weight: 3,
          healthy: true,
          activeHealth: 'unchecked',
          ejected: false,
          activeRequests: 0,
          labels: { version: 'v1' },
        },
      ],
    });
    await manager.close();
  });
});
