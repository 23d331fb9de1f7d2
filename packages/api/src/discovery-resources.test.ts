// Discovery resources: a snapshot splits into versioned resources and assembles back to the same snapshot;
// versions follow content; a delta carries what differs; a half without its other half is refused.
import { describe, expect, it } from 'vitest';
import {
  assembleSnapshot,
  discoveryKey,
  resourceDelta,
  snapshotVersion,
  splitSnapshot,
  versionOfResources,
} from './discovery-resources.ts';
import type { SnapshotInput } from './snapshot.ts';

type ListenerInput = SnapshotInput['listeners'][number];

/** A listener whose one virtual host sends everything to `cluster` (or has no host at all). */
function listener(name: string, kind: ListenerInput['kind'], cluster?: string, weight = 100): ListenerInput {
  const all = { name: 'all', match: { path: { prefix: '/' } }, route: { clusters: [{ cluster, weight }] } };
  return {
    name,
    kind,
    port: kind === 'inbound' ? 15006 : 15001,
    virtualHosts: cluster ? [{ name: cluster, domains: [cluster], routes: [all as never] }] : [],
  };
}

/** Two listeners, one cluster, and each proxy-wide resource. */
function snapshot(weight = 100, port = 15006): SnapshotInput {
  return {
    version: '',
    listeners: [listener('virtualOutbound', 'outbound', 'b', weight), listener('virtualInbound', 'inbound')],
    clusters: [{ name: 'b', endpoints: [{ address: '127.0.0.9', port }] }],
    egress: { mode: 'REGISTRY_ONLY', allow: [] },
    telemetry: { accessLog: true },
    peers: [{ workload: 'a', namespace: 'default' }],
  };
}

describe('discovery resources', () => {
  it('split a snapshot the way xDS does and assemble it back, listeners and clusters by name', () => {
    const input = snapshot();
    const resources = splitSnapshot(input);
    expect(resources.map(discoveryKey).sort()).toEqual([
      'cluster/b',
      'egress/egress',
      'endpoints/b',
      'listener/virtualInbound',
      'listener/virtualOutbound',
      'peers/peers',
      'routes/virtualInbound',
      'routes/virtualOutbound',
      'telemetry/telemetry',
    ]);
    const built = assembleSnapshot('v', [...resources].reverse());
    expect(built.assembled?.snapshot).toEqual({
      ...input,
      version: 'v',
      listeners: [input.listeners[1], input.listeners[0]],
    });
    expect(built.assembled?.resourceAt('listeners[0].virtualHosts[0].routes[0]')).toEqual({
      type: 'routes',
      name: 'virtualInbound',
    });
    expect(built.assembled?.resourceAt('clusters[0].endpoints[0].address')).toEqual({
      type: 'endpoints',
      name: 'b',
    });
    expect(built.assembled?.resourceAt('clusters[0].lbPolicy')).toEqual({ type: 'cluster', name: 'b' });
    expect(built.assembled?.resourceAt('egress.allow[0]')).toEqual({ type: 'egress', name: 'egress' });
  });

  it('version each resource by its content, and a snapshot by its resources', () => {
    const [a, b] = [snapshot(100), snapshot(100)].map(splitSnapshot);
    expect(a?.map((r) => r.version)).toEqual(b?.map((r) => r.version));
    expect(snapshotVersion(snapshot())).toBe(versionOfResources(a ?? []));
    // A weight is a route: only the route table's version moves.
    const changed = splitSnapshot(snapshot(50));
    const moved = changed.filter((r, i) => r.version !== a?.[i]?.version).map(discoveryKey);
    expect(moved).toEqual(['routes/virtualOutbound']);
    expect(snapshotVersion(snapshot(50))).not.toBe(snapshotVersion(snapshot()));
  });

  it('split an object shared by many snapshots once, into the same resource objects', () => {
    const shared = snapshot();
    const other = { ...snapshot(), listeners: shared.listeners };
    const routes = (s: SnapshotInput) => splitSnapshot(s).find((r) => r.type === 'routes');
    expect(routes(other)).toBe(routes(shared));
  });

  it('make a delta of what differs from what is held, and what is no longer wanted', () => {
    const held = new Map(splitSnapshot(snapshot()).map((r) => [discoveryKey(r), r.version]));
    held.set('cluster/gone', 'x');
    held.set('endpoints/gone', 'x');
    const delta = resourceDelta(held, splitSnapshot(snapshot(100, 15007)));
    expect(delta.resources.map(discoveryKey)).toEqual(['endpoints/b']);
    expect(delta.removed).toEqual([
      { type: 'cluster', name: 'gone' },
      { type: 'endpoints', name: 'gone' },
    ]);
  });

  it('refuse a listener without its routes and endpoints without their cluster, naming each', () => {
    const resources = splitSnapshot(snapshot()).filter((r) => r.type !== 'routes' && r.type !== 'cluster');
    const built = assembleSnapshot('v', resources);
    expect(built.assembled).toBeUndefined();
    expect(built.issues.map((i) => `${i.ref.type}/${i.ref.name}`).sort()).toEqual([
      'endpoints/b',
      'listener/virtualInbound',
      'listener/virtualOutbound',
    ]);
  });
});
