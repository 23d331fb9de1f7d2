// The etcd store with a real three-member etcd (127.0.171.0/24) and two replicas in this process: a change
// through one is served by the other with etcd's revision as its resourceVersion, concurrent writes with the
// version they read never lose an update, registrations are shared and leave with a dead replica's lease, a
// compacted watch lists again, and the CA's place holds one secret for all replicas.
import { parseDocuments } from '@strait/api/resources';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdReplication, parseEtcdUrl } from '../packages/control-plane/src/etcd/replication.ts';
import { waitFor } from './control-plane-support.ts';
import { etcdSkipReason, skipWithoutEtcd, startEtcd, type TestEtcd } from './support/etcd.ts';

const logger = pino({ level: 'silent' });

const split = (v1: number, v2: number, version?: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: service-b${version ? `, resourceVersion: "${version}"` : ''} }
spec:
  host: service-b
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: service-b${version ? `, resourceVersion: "${version}"` : ''} }
spec:
  hosts: [service-b]
  http:
    - route:
        - { destination: { host: service-b, subset: v1 }, weight: ${v1} }
        - { destination: { host: service-b, subset: v2 }, weight: ${v2} }
`;

/** Only the VirtualService, carrying the resourceVersion it was read at. */
const vsOnly = (v1: number, v2: number, version: string) =>
  split(v1, v2, version).split('---\n')[1] as string;
const docs = (text: string) => parseDocuments(text, 'test.yaml').docs;

let etcd: TestEtcd;
let a: EtcdReplication;
let b: EtcdReplication;

function replica(name: string, options: { watchRetryMs?: number } = {}): EtcdReplication {
  return new EtcdReplication({
    url: parseEtcdUrl(
      `etcd://${etcd.cluster.endpoints.map((e) => e.slice('http://'.length)).join(',')}/store-test`,
    ),
    replica: name,
    address: `${name}:15010`,
    leaseTtlSeconds: 3,
    logger,
    ...options,
  });
}

const vsWeights = (r: EtcdReplication) =>
  (
    r.store.find('VirtualService', 'service-b')[0]?.spec as
      | { http: { route: { weight: number }[] }[] }
      | undefined
  )?.http[0]?.route.map((x) => x.weight);

describe.skipIf(skipWithoutEtcd)(`the etcd store (${etcdSkipReason})`, () => {
  beforeAll(async () => {
    etcd = await startEtcd('127.0.171');
    a = replica('replica-a');
    b = replica('replica-b');
    await Promise.all([a.store.open(), b.store.open()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.store.close(), b?.store.close()]);
    await etcd?.stop();
  }, 30_000);

  it('serves a change made through one replica on the other, with etcd’s revision as resourceVersion', async () => {
    const changes: string[] = [];
    b.store.on('change', ({ source }) => changes.push(source));
    const results = await a.store.apply(docs(split(90, 10)));
    expect(results.map((r) => r.action)).toEqual(['created', 'created']);
    const version = results[1]?.resourceVersion as string;
    expect(version).toMatch(/^\d+$/);
    await waitFor('replica B to serve the change', () => vsWeights(b)?.join('/') === '90/10');
    expect(changes).toContain('store');
    expect(b.store.find('VirtualService', 'service-b')[0]?.metadata.resourceVersion).toBe(version);
    expect(a.store.find('VirtualService', 'service-b')[0]?.metadata.resourceVersion).toBe(version);
    expect(a.status().health).toMatchObject({
      healthy: true,
      store: expect.stringMatching(/^etcd http:\/\/127\.0\.171\.1:2379,/),
    });
  });

  it('lets exactly one of 20 concurrent writes through both replicas win per version read; the rest get 409', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const through = i % 2 === 0 ? a : b;
        const read = through.store.find('VirtualService', 'service-b')[0]?.metadata.resourceVersion as string;
        try {
          const [result] = await through.store.apply(docs(vsOnly(100 - i, i, read)));
          return { i, read, won: true, version: Number(result?.resourceVersion) };
        } catch (err) {
          expect((err as { code?: string }).code).toBe('STRAIT_CONFLICT');
          const conflicts = (err as { conflicts?: { sent: string; current?: string }[] }).conflicts;
          expect(conflicts?.[0]?.sent).toBe(read);
          expect(conflicts?.[0]?.current).not.toBe(read);
          return { i, read, won: false, version: 0 };
        }
      }),
    );
    const byVersion = new Map<string, number>();
    for (const o of outcomes) byVersion.set(o.read, (byVersion.get(o.read) ?? 0) + (o.won ? 1 : 0));
    expect([...byVersion.values()].every((wins) => wins === 1)).toBe(true);
    const winners = outcomes.filter((o) => o.won).sort((x, y) => x.version - y.version);
    expect(winners.length).toBeGreaterThanOrEqual(1);
    expect(outcomes.filter((o) => !o.won)).toHaveLength(20 - winners.length);
    const last = winners.at(-1) as (typeof winners)[number];
    // The final state is the last winner's, on both replicas.
    for (const r of [a, b])
      await waitFor(
        'both replicas to serve the last winner',
        () => vsWeights(r)?.join('/') === `${100 - last.i}/${last.i}`,
      );
    expect(b.store.find('VirtualService', 'service-b')[0]?.metadata.resourceVersion).toBe(
      String(last.version),
    );
  });

  it('shares registrations: a proxy registered through one replica is known to the other, with its replica', async () => {
    const node = { id: 'shared-proxy', role: 'sidecar' as const, workload: 'w', namespace: 'default' };
    a.registrations.publish(node);
    await waitFor(
      'replica B to know the proxy',
      () => b.registrations.all().get('shared-proxy')?.replica === 'replica-a',
    );
    // It moves to B; A's later withdrawal does not remove B's registration.
    b.registrations.publish(node);
    await waitFor(
      'the move to show on A',
      () => a.registrations.all().get('shared-proxy')?.replica === 'replica-b',
    );
    a.registrations.release('shared-proxy');
    a.registrations.withdraw('shared-proxy');
    await new Promise((r) => setTimeout(r, 300));
    expect(b.registrations.all().get('shared-proxy')?.replica).toBe('replica-b');
    b.registrations.release('shared-proxy');
    b.registrations.withdraw('shared-proxy');
    await waitFor('the registration to go', () => !a.registrations.all().has('shared-proxy'));
  });

  it("drops a dead replica's registrations with its lease, unless the proxy registered through another", async () => {
    const d = replica('replica-d');
    await d.store.open();
    const stays = { id: 'moves-to-b', role: 'sidecar' as const, workload: 'w', namespace: 'default' };
    const goes = { id: 'stays-on-d', role: 'sidecar' as const, workload: 'w', namespace: 'default' };
    d.registrations.publish(stays);
    d.registrations.publish(goes);
    await waitFor('replica B to know both', () =>
      ['moves-to-b', 'stays-on-d'].every((id) => b.registrations.all().get(id)?.replica === 'replica-d'),
    );
    // Replica D stops renewing its lease (as if it died); one of its proxies re-registers through B.
    await d.store.close();
    b.registrations.publish(stays);
    await waitFor(
      "the lease's expiry to remove the other",
      () => !b.registrations.all().has('stays-on-d'),
      10_000,
    );
    expect(b.registrations.all().get('moves-to-b')?.replica).toBe('replica-b');
    expect(a.registrations.all().has('stays-on-d')).toBe(false);
    b.registrations.release('moves-to-b');
    b.registrations.withdraw('moves-to-b');
  }, 30_000);

  it('elects one leader', async () => {
    await waitFor(
      'a leader',
      () => a.status().leader !== undefined && a.status().leader === b.status().leader,
    );
    expect([a.status().isLeader, b.status().isLeader].filter(Boolean)).toHaveLength(1);
  });

  it('keeps one CA secret for all replicas, created by whichever asks first', async () => {
    const [fromA, fromB] = await Promise.all([
      a.store.keepSecret('root', () => 'root-of-a'),
      b.store.keepSecret('root', () => 'root-of-b'),
    ]);
    expect(fromA).toBe(fromB);
    expect(['root-of-a', 'root-of-b']).toContain(fromA);
    // It is not configuration: the resource API never sees it.
    expect(a.store.resources.map((r) => r.kind).sort()).toEqual(['DestinationRule', 'VirtualService']);
  });

  it('lists again after its watch was compacted away, and serves what changed meanwhile', async () => {
    // A replica whose watch (on the first member) breaks and stays down long enough for history to be compacted.
    const c = replica('replica-c', { watchRetryMs: 5000 });
    await c.store.open();
    try {
      await etcd.cluster.kill(0);
      const written = await a.store.apply(
        docs(
          vsOnly(33, 67, a.store.find('VirtualService', 'service-b')[0]?.metadata.resourceVersion as string),
        ),
      );
      for (let i = 0; i < 5; i++) await a.client.put('/store-test/noise', String(i));
      const { header } = await a.client.range('/store-test/noise');
      await a.client.compact(header.revision);
      await waitFor('replica C to list again', () => c.status().relists > 0, 20_000);
      await waitFor('replica C to serve the change', () => vsWeights(c)?.join('/') === '33/67');
      expect(c.store.find('VirtualService', 'service-b')[0]?.metadata.resourceVersion).toBe(
        written[0]?.resourceVersion,
      );
    } finally {
      await c.store.close();
      etcd.cluster.startMember(0);
      await etcd.cluster.waitHealthy();
    }
  }, 60_000);
});
