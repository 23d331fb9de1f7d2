// Two control-plane replicas on a real three-member etcd cluster (127.0.172.0/24), real proxies spread over
// both: a change through one replica reaches the other's proxies, concurrent writes with the version they read
// never lose an update, an etcd member killed under traffic and applies loses nothing, a store without quorum
// refuses writes with a clear 503 while proxies keep serving, and a replica killed under traffic moves its
// proxies to the other without one failed request.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyResponse, ErrorBody } from '../packages/api/src/index.ts';
import {
  apiAuth,
  closeServer,
  get,
  type Mesh,
  PROXY_IDS,
  splitYaml,
  startApp,
  startMesh,
  waitFor,
  waitUntilSynced,
} from './control-plane-support.ts';
import { etcdSkipReason, leaderIndex, skipWithoutEtcd, startEtcd, type TestEtcd } from './support/etcd.ts';

const BLOCK = '127.0.172';
let etcd: TestEtcd;
let mesh: Mesh;

/** PUTs YAML to one replica's resource API. */
async function applyThrough(
  replica: number,
  yaml: string,
): Promise<{ status: number; body: ApplyResponse & ErrorBody }> {
  const res = await fetch(`${mesh.servers[replica]}/v1/resources`, {
    method: 'PUT',
    body: yaml,
    headers: await apiAuth(mesh.configDir),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, body: (await res.json()) as ApplyResponse & ErrorBody };
}

/** The split as one replica serves it, with its resourceVersion. */
async function readSplit(replica: number): Promise<{ weights: string; version: string }> {
  const r = JSON.parse(
    (await get(`${mesh.servers[replica]}/v1/resources/virtualservice/service-b`)).text,
  ) as {
    metadata: { resourceVersion: string };
    spec: { http: { route: { weight: number }[] }[] };
  };
  return {
    weights: r.spec.http[0]?.route.map((x) => x.weight).join('/') ?? '',
    version: r.metadata.resourceVersion,
  };
}

const withVersion = (yaml: string, version: string) =>
  yaml.replace(
    'metadata: { name: service-b }',
    `metadata: { name: service-b, resourceVersion: "${version}" }`,
  );

/** Requests through the front door from `workers` loops until stopped. */
function traffic(workers: number) {
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const a = await mesh.front();
        if (a.status === 200) ok++;
        else failures.push(`${a.status} ${a.text.slice(0, 120)}`);
      } catch (err) {
        failures.push(String(err));
      }
    }
  });
  return {
    failures,
    ok: () => ok,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

describe.skipIf(skipWithoutEtcd)(`control-plane replicas on etcd (${etcdSkipReason})`, () => {
  beforeAll(async () => {
    etcd = await startEtcd(BLOCK);
    mesh = await startMesh(100, { block: BLOCK, store: etcd.cluster.storeUrl, replicas: 2 });
  }, 120_000);

  afterAll(async () => {
    await mesh?.stop();
    await etcd?.stop();
  }, 60_000);

  it('spreads proxies over both replicas, and a change through A reaches the proxies on B (p99 < 1 s over 20)', async () => {
    const rows = await waitUntilSynced(mesh);
    const onB = rows.filter((r) => r.replica === 'replica-b').map((r) => r.id);
    // Each proxy starts at the replica its id hashes to: these two on B, the other three on A.
    expect(onB).toEqual(['istio-ingressgateway-1', 'service-b-v2-1']);
    expect(rows.filter((r) => r.replica === 'replica-a')).toHaveLength(3);
    // One change first, untimed: a replica's first apply also starts its parser thread and warms its code.
    expect((await applyThrough(0, splitYaml(91, 9))).status).toBe(200);
    rows.splice(0, rows.length, ...(await waitUntilSynced(mesh)));
    const took: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = new Map(rows.map((r) => [r.id, r.ackedVersion]));
      const started = performance.now();
      const applied = await applyThrough(0, splitYaml(90 - i, 10 + i));
      expect(applied.status).toBe(200);
      // Done when a proxy on B runs a new version and none on B is behind what B wants (the ingress, say,
      // does not route to service-b: its config does not change).
      await waitFor(
        'the proxies on replica B to ACK the change',
        async () => {
          const now = JSON.parse((await get(`${mesh.servers[1]}/v1/proxies`)).text) as {
            proxies: { id: string; status: string; ackedVersion?: string }[];
          };
          const mine = now.proxies.filter((p) => onB.includes(p.id));
          return (
            mine.length === onB.length &&
            mine.every((p) => p.status === 'SYNCED') &&
            mine.some((p) => p.ackedVersion !== before.get(p.id))
          );
        },
        10_000,
        5,
      );
      took.push(performance.now() - started);
      rows.splice(0, rows.length, ...(await waitUntilSynced(mesh)));
    }
    console.info(
      `apply through A -> SYNCED on B, 20 changes (${took.map((t) => t.toFixed(0)).join(' ')}): p50 ${percentile(took, 50).toFixed(0)} ms, p99 ${percentile(took, 99).toFixed(0)} ms`,
    );
    expect(percentile(took, 99)).toBeLessThan(1000);
  }, 90_000);

  it('20 concurrent applies through both replicas, each with the version it read: one wins per version, the rest get 409', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const through = i % 2;
        const { version: read } = await readSplit(through);
        const { status, body } = await applyThrough(through, withVersion(splitYaml(100 - i, i), read));
        if (status === 200) return { i, read, won: true, version: Number(body.results[0]?.resourceVersion) };
        expect(status).toBe(409);
        expect(body.error.code).toBe('STRAIT_CONFLICT');
        expect(body.error.conflicts?.[0]).toMatchObject({
          kind: 'VirtualService',
          name: 'service-b',
          sent: read,
        });
        expect(body.error.conflicts?.[0]?.current).not.toBe(read);
        return { i, read, won: false, version: 0 };
      }),
    );
    const winsByVersion = new Map<string, number>();
    for (const o of outcomes) winsByVersion.set(o.read, (winsByVersion.get(o.read) ?? 0) + (o.won ? 1 : 0));
    expect([...winsByVersion.values()]).toEqual([...winsByVersion.values()].map(() => 1));
    const winners = outcomes.filter((o) => o.won).sort((x, y) => x.version - y.version);
    const last = winners.at(-1) as (typeof winners)[number];
    for (const replica of [0, 1])
      await waitFor('both replicas to serve the last winner', async () => {
        const split = await readSplit(replica);
        return split.weights === `${100 - last.i}/${last.i}` && split.version === String(last.version);
      });
  }, 60_000);

  it('SIGKILL of the etcd leader under traffic and applies: nothing fails, nothing is lost', async () => {
    await waitUntilSynced(mesh);
    const load = traffic(2);
    const killed = await leaderIndex(etcd.cluster);
    const versions: number[] = [];
    let lastWeights = '';
    try {
      for (let i = 0; i < 12; i++) {
        if (i === 3) await etcd.cluster.kill(killed);
        const applied = await applyThrough(i % 2, splitYaml(60 + i, 40 - i));
        expect(applied.status, JSON.stringify(applied.body)).toBe(200);
        versions.push(Number(applied.body.results[0]?.resourceVersion));
        lastWeights = `${60 + i}/${40 - i}`;
      }
      // Every apply was committed, in order; both replicas serve the last one, and so do the proxies.
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
      expect(new Set(versions).size).toBe(versions.length);
      for (const replica of [0, 1])
        await waitFor('both replicas to serve the last apply', async () => {
          const split = await readSplit(replica);
          return split.weights === lastWeights && split.version === String(versions.at(-1));
        });
      await waitUntilSynced(mesh, 20_000);
    } finally {
      await load.stop();
      etcd.cluster.startMember(killed);
      await etcd.cluster.waitHealthy();
    }
    expect(load.failures).toEqual([]);
    expect(load.ok()).toBeGreaterThan(10);
  }, 90_000);

  it('with two of three members down, applies get a 503 naming the store; proxies keep serving; a returning member resumes all', async () => {
    await waitUntilSynced(mesh);
    const load = traffic(1);
    try {
      await etcd.cluster.kill(0);
      await etcd.cluster.kill(1);
      const refused = await applyThrough(0, splitYaml(0, 100));
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('STRAIT_STORE_UNAVAILABLE');
      expect(refused.body.error.message).toContain(`etcd http://${BLOCK}.1:2379,http://${BLOCK}.2:2379`);
      // The replica's own health follows within a lease tick or two (each tick asks etcd, and waits for it).
      await waitFor('the store to be reported down', async () =>
        /^strait_config_store_up\{store="etcd [^"]+"\} 0$/m.test(
          (await get(`http://${mesh.layout.controlPlanes[0]}:15014/metrics`)).text,
        ),
      );
      expect((await readSplit(0)).weights).toBe((await readSplit(1)).weights);
      etcd.cluster.startMember(0);
      await etcd.cluster.waitHealthy();
      await waitFor(
        'an apply to go through again',
        async () => (await applyThrough(1, splitYaml(0, 100))).status === 200,
        30_000,
        500,
      );
      await waitFor('the proxies to serve it', async () => (await mesh.front()).text === 'a>b-v2', 20_000);
      await waitUntilSynced(mesh, 20_000);
    } finally {
      await load.stop();
      etcd.cluster.startMember(1);
      await etcd.cluster.waitHealthy();
    }
    expect(load.failures).toEqual([]);
    expect(load.ok()).toBeGreaterThan(5);
  }, 120_000);

  it('SIGKILL of replica A under traffic: no request fails, its proxies are on B within 5 s, and B pushes to them', async () => {
    await waitUntilSynced(mesh);
    const load = traffic(2);
    await sleep(300);
    const movers = (await mesh.statuses()).filter((r) => r.replica === 'replica-a').map((r) => r.id);
    expect(movers.length).toBeGreaterThan(0);
    const killedAt = performance.now();
    await mesh.controlPlanes[0]?.stop('SIGKILL');
    let reconnectedMs = 0;
    try {
      await waitFor(
        "replica A's proxies to be connected to B",
        async () => {
          const rows = JSON.parse((await get(`${mesh.servers[1]}/v1/proxies`)).text) as {
            proxies: { id: string; connected: boolean; replica?: string }[];
          };
          return movers.every((id) =>
            rows.proxies.some((p) => p.id === id && p.connected && p.replica === 'replica-b'),
          );
        },
        10_000,
        20,
      );
      reconnectedMs = performance.now() - killedAt;
      await waitUntilSynced(mesh, 20_000);
      const syncedMs = performance.now() - killedAt;
      console.info(
        `replica A killed: its ${movers.length} proxies connected to B after ${reconnectedMs.toFixed(0)} ms, all SYNCED after ${syncedMs.toFixed(0)} ms`,
      );
      const applied = await applyThrough(1, splitYaml(100, 0));
      expect(applied.status).toBe(200);
      await waitFor(
        'the proxies to serve the change from B',
        async () => (await mesh.front()).text === 'a>b-v1',
      );
      const rows = await waitUntilSynced(mesh);
      expect(rows.map((r) => r.id)).toEqual(PROXY_IDS);
      expect(rows.every((r) => r.replica === 'replica-b')).toBe(true);
    } finally {
      await load.stop();
    }
    expect(reconnectedMs).toBeLessThan(5000);
    expect(load.failures).toEqual([]);
    expect(load.ok()).toBeGreaterThan(10);
    // straitctl, given both replicas, still answers and says which one did not.
    const status = await mesh.straitctl('proxy-status');
    expect(status.code).toBe(0);
    expect(status.stderr).toContain(`Warning: no answer from ${mesh.servers[0]}`);
    expect(status.stdout).toMatch(/service-a-v1-1\s.*\sreplica-b\n/);
  }, 90_000);

  it('a proxy started while replica A is dead gets its config from B', async () => {
    const address = `${BLOCK}.122`;
    const app = await startApp(address, 8080, () => ({ status: 200, text: 'b-v1' }));
    try {
      // Its id hashes to replica A, which refuses the connection: it moves on to B.
      mesh.startSidecar('service-b-v1-2', 'service-b', 'v1', address);
      const row = await waitFor('the new proxy to be SYNCED through B', async () => {
        const rows = await mesh.statuses();
        return rows.find((r) => r.id === 'service-b-v1-2' && r.connected && r.status === 'SYNCED');
      });
      expect(row.replica).toBe('replica-b');
      // And the other proxies learn of it as an endpoint of service-b.
      const endpoints = await mesh.straitctl('proxy-config', 'endpoints', 'service-a-v1-1');
      expect(endpoints.stdout).toContain(`${address}:15006`);
    } finally {
      await closeServer(app);
    }
  }, 60_000);
});
