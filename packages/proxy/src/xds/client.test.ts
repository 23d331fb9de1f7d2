import {
  type AckMessage,
  type DiscoveryRequest,
  parseSnapshot,
  type Snapshot,
  splitSnapshot,
  versionOfResources,
} from '@strait/api';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DiscoveryClient, type DiscoveryClientOptions, type DiscoveryStatus } from './client.ts';
import { deltaTo, FakeControlPlane, node, snapshotInput, versionOf, waitFor } from './fake-control-plane.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(extra: Partial<DiscoveryClientOptions> = {}): Promise<{
  cp: FakeControlPlane;
  client: DiscoveryClient;
  applied: Snapshot[];
  statuses: DiscoveryStatus[];
}> {
  const cp = new FakeControlPlane();
  await cp.start();
  cleanups.push(() => cp.stop());
  const applied: Snapshot[] = [];
  const client = new DiscoveryClient({
    urls: [cp.url],
    node,
    apply: (s) => {
      applied.push(s);
    },
    logger: pino({ level: 'silent' }),
    backoff: { initialMs: 20, maxMs: 100 },
    ...extra,
  });
  const statuses: DiscoveryStatus[] = [];
  client.onStatus((s) => statuses.push(s));
  cleanups.push(() => client.stop());
  return { cp, client, applied, statuses };
}

describe('DiscoveryClient', () => {
  it('fails over to the next replica when its stream breaks, and ACKs the config it holds without applying it', async () => {
    const { cp: a, client, applied, statuses } = await setup();
    const b = new FakeControlPlane();
    await b.start();
    cleanups.push(() => b.stop());
    // Replaces the one-replica client of setup() with one that knows both replicas.
    await client.stop();
    const twoReplicas = new DiscoveryClient({
      urls: [a.url, b.url],
      node,
      apply: (snapshot) => {
        applied.push(snapshot);
      },
      logger: pino({ level: 'silent' }),
      backoff: { initialMs: 20, maxMs: 100 },
      firstReplica: () => 0,
    });
    twoReplicas.onStatus((st) => statuses.push(st));
    cleanups.push(() => twoReplicas.stop());
    let version = '';
    a.replica = 'replica-a';
    b.replica = 'replica-b';
    a.onStream = (stream) => {
      version = a.full(stream, 'a1');
    };
    twoReplicas.start();
    await waitFor(() => a.acks.length === 1, 'the ack to replica A');
    expect(twoReplicas.status).toMatchObject({ controlPlane: a.url, replica: 'replica-a' });
    // Replica A crashes; B has the same config and says so with the same version.
    b.onStream = (stream) => {
      b.send(stream, deltaTo(snapshotInput(), 'b1', stream.request.resources));
    };
    await a.stop();
    await waitFor(() => b.acks.length === 1, 'the ack to replica B');
    expect(b.streams[0]?.request.version).toBe(version);
    expect(b.acks[0]).toEqual({ nodeId: node.id, type: 'ack', version, nonce: 'b1' });
    expect(applied).toHaveLength(1);
    expect(twoReplicas.status).toMatchObject({
      connected: true,
      stale: false,
      version,
      controlPlane: b.url,
      replica: 'replica-b',
    });
    expect(statuses.some((st) => !st.connected && st.stale)).toBe(true);
  });

  it('sends its node, applies a full delta as one snapshot and ACKs its version and nonce', async () => {
    const { cp, client, applied } = await setup({ token: 's3cret' });
    let v1 = '';
    cp.onStream = (s) => {
      v1 = cp.full(s, 'n1');
    };
    client.start();
    await waitFor(() => cp.acks.length === 1, 'the ack');
    expect(cp.acks[0]).toEqual({ nodeId: node.id, type: 'ack', version: v1, nonce: 'n1' });
    expect(applied).toHaveLength(1);
    expect(applied[0]?.version).toBe(v1);
    // Each listener came back with its route table, each cluster with its endpoints.
    expect(applied[0]?.listeners[0]?.virtualHosts[0]?.domains).toEqual(['service-b']);
    expect(applied[0]?.clusters[0]?.endpoints[0]?.port).toBe(15006);
    // Defaults were filled in by parseSnapshot.
    expect(applied[0]?.clusters[0]?.lbPolicy).toBe('ROUND_ROBIN');
    expect(cp.streams[0]?.request.node).toEqual(node);
    expect(cp.streams[0]?.request.version).toBeUndefined();
    expect(cp.streams[0]?.request.resources).toBeUndefined();
    expect(cp.streams[0]?.headers.authorization).toBe('Bearer s3cret');
    const status = client.status;
    expect(status).toMatchObject({ connected: true, stale: false, version: v1, reconnects: 0 });
    expect(typeof status.connectedSince).toBe('number');
    expect(client.counters).toMatchObject({ streamsOpened: 1, connectFailures: 0 });
    expect(client.counters.bytesReceived).toBeGreaterThan(100);
  });

  it('applies an incremental delta on top of what it holds: only the endpoints came, the rest stayed', async () => {
    const { cp, client, applied } = await setup();
    const next = snapshotInput('outbound|80||service-b', 15007);
    let held: DiscoveryRequest['resources'];
    cp.onStream = (s) => {
      cp.full(s, 'n1');
      held = splitSnapshot(snapshotInput()).map(({ type, name, version }) => ({ type, name, version }));
      cp.send(s, deltaTo(next, 'n2', held));
    };
    client.start();
    await waitFor(() => cp.acks.length === 2, 'two acks');
    const delta = deltaTo(next, 'n2', held);
    expect(delta.resources.map((r) => r.type)).toEqual(['endpoints']);
    expect(cp.acks[1]).toEqual({ nodeId: node.id, type: 'ack', version: versionOf(next), nonce: 'n2' });
    expect(applied[1]?.clusters[0]?.endpoints[0]?.port).toBe(15007);
    expect(applied[1]?.listeners[0]?.virtualHosts[0]?.routes[0]?.name).toBe('all');
  });

  it('NACKs per resource: an invalid resource, a route to a missing cluster, and an apply error naming a path', async () => {
    const applied: string[] = [];
    const { cp, client } = await setup({
      apply: (s) => {
        if (s.clusters.some((c) => c.name === 'taken'))
          throw new Error('listeners[0].virtualHosts[0].routes[0]: port 8080 is taken');
        applied.push(s.version);
      },
    });
    let v1 = '';
    cp.onStream = (s) => {
      v1 = cp.full(s, 'n1');
      const bad = deltaTo(snapshotInput(), 'n2');
      const cluster = bad.resources.find((r) => r.type === 'endpoints');
      if (cluster) cluster.resource = { cluster: 'outbound|80||service-b', endpoints: [{ port: 0 }] };
      cp.send(s, { ...bad, full: undefined });
      // Routes now name a cluster the proxy does not have.
      const routes = splitSnapshot(snapshotInput('missing')).find((r) => r.type === 'routes');
      const held = splitSnapshot(snapshotInput());
      const heldRoutes = held.find((r) => r.type === 'routes');
      cp.send(s, {
        type: 'delta',
        nonce: 'n3',
        version: versionOfResources([
          ...held.filter((r) => r !== heldRoutes),
          routes as (typeof held)[number],
        ]),
        resources: [routes],
        removed: [],
      });
      cp.full(s, 'n4', snapshotInput('taken'));
    };
    client.start();
    await waitFor(() => cp.acks.length === 4, 'four answers');
    expect(cp.acks[0]).toEqual({ nodeId: node.id, type: 'ack', version: v1, nonce: 'n1' });
    expect(cp.acks[1]).toMatchObject({
      type: 'nack',
      nonce: 'n2',
      keptVersion: v1,
      rejected: [{ type: 'endpoints', name: 'outbound|80||service-b' }],
    });
    const [n2, n3, n4] = cp.acks.slice(1) as Extract<AckMessage, { type: 'nack' }>[];
    expect(n2?.rejected?.[0]?.error).toMatch(/endpoints\[0\]\.address/);
    expect(n3).toMatchObject({
      type: 'nack',
      nonce: 'n3',
      keptVersion: v1,
      rejected: [{ type: 'routes', name: 'virtualOutbound' }],
    });
    expect(n3?.error).toMatch(/no cluster named "missing"/);
    expect(n4).toMatchObject({
      type: 'nack',
      nonce: 'n4',
      keptVersion: v1,
      rejected: [{ type: 'routes', name: 'virtualOutbound' }],
    });
    expect(n4?.error).toMatch(/port 8080 is taken/);
    expect(applied).toEqual([v1]);
    expect(client.status.version).toBe(v1);
    expect(client.status.lastNack).toMatchObject({ nonce: 'n4' });
  });

  it('refuses a delta that does not lead to the version it announces (built on another base)', async () => {
    const { cp, client, applied } = await setup();
    let v1 = '';
    cp.onStream = (s) => {
      v1 = cp.full(s, 'n1');
      // Announces a set the proxy would hold only had it applied some other delta first.
      const next = snapshotInput('outbound|80||service-b', 15007);
      cp.send(s, { type: 'delta', nonce: 'n2', version: versionOf(next), resources: [], removed: [] });
    };
    client.start();
    await waitFor(() => cp.acks.length === 2, 'two answers');
    expect(cp.acks[1]).toMatchObject({ type: 'nack', nonce: 'n2', keptVersion: v1 });
    expect((cp.acks[1] as { error: string }).error).toMatch(/does not apply to what this proxy holds/);
    expect(applied).toHaveLength(1);
  });

  it('processes messages strictly in order, one apply at a time', async () => {
    const events: string[] = [];
    const second = snapshotInput('outbound|80||service-b', 15007);
    const { cp, client } = await setup({
      apply: async (s) => {
        const port = s.clusters[0]?.endpoints[0]?.port;
        events.push(`start ${port}`);
        await new Promise((r) => setTimeout(r, port === 15006 ? 100 : 0));
        events.push(`end ${port}`);
      },
    });
    cp.onStream = (s) => {
      // Both messages in one write: the second must wait for the first to finish.
      s.res.write(
        `${JSON.stringify(deltaTo(snapshotInput(), 'a'))}\n${JSON.stringify(deltaTo(second, 'b'))}\n`,
      );
    };
    client.start();
    await waitFor(() => cp.acks.length === 2, 'two acks');
    expect(events).toEqual(['start 15006', 'end 15006', 'start 15007', 'end 15007']);
    expect(cp.acks.map((a) => a.nonce)).toEqual(['a', 'b']);
  });

  it('goes stale when the control plane dies, reconnects telling what it holds, and takes the delta', async () => {
    const { cp, client, applied, statuses } = await setup();
    let v1 = '';
    cp.onStream = (s) => {
      v1 = cp.full(s, 'n1');
    };
    client.start();
    await waitFor(() => cp.acks.length === 1, 'the first ack');
    const port = cp.port;
    await cp.stop();
    await waitFor(() => client.status.stale, 'stale status');
    expect(client.status.connected).toBe(false);
    expect(client.status.version).toBe(v1);
    // Let a few reconnects fail against the dead address.
    await waitFor(() => client.status.reconnects >= 2, 'reconnect attempts');
    // Each attempt against the dead address is a failed connection (the lost stream itself is not).
    await waitFor(() => client.counters.connectFailures >= 2, 'two failed connection attempts');

    const cp2 = new FakeControlPlane();
    await cp2.start(port);
    cleanups.push(() => cp2.stop());
    const next = snapshotInput('outbound|80|v2|service-b');
    cp2.onStream = (s) => cp2.send(s, deltaTo(next, 'n2', s.request.resources));
    await waitFor(() => cp2.acks.length === 1, 'the ack after reconnect');
    const request = cp2.streams[0]?.request;
    expect(request?.version).toBe(v1);
    expect(request?.resources?.map((r) => `${r.type}/${r.name}`).sort()).toEqual([
      'cluster/outbound|80||service-b',
      'endpoints/outbound|80||service-b',
      'listener/virtualOutbound',
      'routes/virtualOutbound',
    ]);
    expect(versionOfResources(request?.resources ?? [])).toBe(v1);
    expect(cp2.acks[0]).toEqual({ nodeId: node.id, type: 'ack', version: versionOf(next), nonce: 'n2' });
    expect(applied.map((s) => s.clusters[0]?.name)).toEqual([
      'outbound|80||service-b',
      'outbound|80|v2|service-b',
    ]);
    expect(client.status).toMatchObject({ connected: true, stale: false, version: versionOf(next) });
    expect(statuses.some((s) => s.stale && !s.connected)).toBe(true);
  });

  it('drops a silent stream and reconnects; heartbeats keep a stream alive', async () => {
    const { cp, client } = await setup({ heartbeatDeadAfterMs: 600 });
    let beat: NodeJS.Timeout | undefined;
    cleanups.push(async () => clearInterval(beat));
    let v1 = '';
    cp.onStream = (s) => {
      if (cp.streams.length === 1) {
        v1 = cp.full(s, 'n1');
        // First stream: heartbeats for a while, then silence with the connection still open.
        let beats = 0;
        beat = setInterval(() => {
          beats += 1;
          if (beats <= 40) cp.send(s, { type: 'heartbeat', time: Date.now() });
        }, 50);
      }
    };
    client.start();
    await waitFor(() => cp.acks.length === 1, 'the ack');
    // 40 beats at 50 ms = ~2 s of heartbeats, far longer than the 600 ms limit: the stream must survive it.
    await new Promise((r) => setTimeout(r, 1200));
    expect(cp.streams).toHaveLength(1);
    await waitFor(() => cp.streams.length >= 2, 'a second stream after the silence');
    expect(cp.streams[1]?.request.version).toBe(v1);
    expect(client.status.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('is stale before its first connection only when running a bootstrap config, which it reports', async () => {
    const cp = new FakeControlPlane();
    cp.refuseWith = 503;
    await cp.start();
    cleanups.push(() => cp.stop());
    const logger = pino({ level: 'silent' });
    const boot = parseSnapshot({ ...snapshotInput(), version: 'boot' });
    const withBootstrap = new DiscoveryClient({
      urls: [cp.url],
      node,
      apply: () => {},
      logger,
      initial: boot,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    const without = new DiscoveryClient({ urls: [cp.url], node, apply: () => {}, logger });
    expect(withBootstrap.status).toMatchObject({ stale: true, connected: false, version: 'boot' });
    expect(without.status).toMatchObject({ stale: false, connected: false, version: undefined });
    withBootstrap.start();
    cleanups.push(() => withBootstrap.stop());
    // HTTP errors are retried with backoff, never thrown.
    await waitFor(() => withBootstrap.status.reconnects >= 3, 'retries after 503');
    expect(withBootstrap.status).toMatchObject({ stale: true, connected: false, version: 'boot' });
    cp.refuseWith = undefined;
    // The control plane wants what the bootstrap holds: an empty delta that names the version.
    cp.onStream = (s) => cp.send(s, deltaTo(boot, 'n1', s.request.resources));
    await waitFor(() => cp.acks.length === 1, 'ack of the unchanged content');
    expect(cp.streams.at(-1)?.request.version).toBe('boot');
    expect(cp.acks[0]).toMatchObject({ type: 'ack', version: versionOf(boot) });
    expect(withBootstrap.status).toMatchObject({ stale: false, connected: true, version: versionOf(boot) });
  });

  it('drops a stream that sends a line that is not JSON, and NACKs a delta it cannot read', async () => {
    const { cp, client } = await setup();
    cp.onStream = (s) => {
      if (cp.streams.length === 1) s.res.write('this is not json\n');
      else {
        cp.send(s, { type: 'delta', nonce: 'bad', version: 'x', resources: 'nope' });
        cp.full(s, 'n1');
      }
    };
    client.start();
    await waitFor(() => cp.acks.length === 2, 'a NACK and an ack on the second stream');
    expect(cp.streams.length).toBe(2);
    expect(cp.acks[0]).toMatchObject({ type: 'nack', nonce: 'bad' });
    expect((cp.acks[0] as { error: string }).error).toMatch(/the delta is malformed: (resources|removed)/);
    expect(cp.acks[1]).toMatchObject({ type: 'ack', nonce: 'n1' });
  });

  it('stop() ends the stream and no reconnect follows', async () => {
    const { cp, client } = await setup();
    cp.onStream = (s) => cp.full(s, 'n1');
    client.start();
    await waitFor(() => cp.acks.length === 1, 'the ack');
    await client.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(cp.streams).toHaveLength(1);
    expect(client.status.connected).toBe(false);
  });
});
