// Translation: golden snapshots per role for a small mesh (testdata/mesh), every one a valid api
// snapshot, plus the Istio semantics that the goldens do not show (matches, faults, policies, modes).
import { type NodeInfo, parseSnapshot } from '@strait/api';
import { validateAll } from '@strait/api/resources';
import { describe, expect, it } from 'vitest';
import { readConfigDir } from '../config/directory-store.ts';
import { MESH_NODES } from '../testing/mesh-nodes.ts';
import { translate } from './snapshot.ts';

async function meshResources() {
  const files = await readConfigDir(new URL('../testdata/mesh', import.meta.url).pathname);
  const { resources, issues } = validateAll(files);
  expect(issues).toEqual([]);
  return resources;
}

function resourcesOf(yaml: string) {
  const { resources, issues } = validateAll(new Map([['t.yaml', yaml]]));
  expect(issues).toEqual([]);
  return resources;
}

const node = (id: string) => MESH_NODES.find((n) => n.id === id) as NodeInfo;

describe('golden snapshots', () => {
  for (const id of ['istio-ingressgateway-1', 'service-a-v1-1', 'service-b-v2-1', 'istio-egressgateway-1']) {
    it(`${id} (${node(id).role})`, async () => {
      const resources = await meshResources();
      const snapshot = translate({ resources, proxies: MESH_NODES }, node(id));
      expect(() => parseSnapshot(snapshot)).not.toThrow();
      await expect(`${JSON.stringify(snapshot, null, 2)}\n`).toMatchFileSnapshot(`./__golden__/${id}.json`);
    });
  }

  it('the version is a content hash: same input, same version; a change, a new one', async () => {
    const resources = await meshResources();
    const a = translate({ resources, proxies: MESH_NODES }, node('service-a-v1-1'));
    const b = translate({ resources, proxies: [...MESH_NODES].reverse() }, node('service-a-v1-1'));
    expect(b.version).toBe(a.version);
    const c = translate(
      { resources, proxies: MESH_NODES.filter((n) => n.id !== 'service-b-v2-1') },
      node('service-a-v1-1'),
    );
    expect(c.version).not.toBe(a.version);
  });
});

describe('translation details', () => {
  it('carries MeshConfig pathNormalization to every listener of every role (BASE, the default, is left implicit)', () => {
    const mesh = (mode: string) =>
      resourcesOf(`
apiVersion: strait.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec:
  pathNormalization: { normalization: ${mode} }
`);
    for (const id of ['istio-ingressgateway-1', 'service-a-v1-1', 'istio-egressgateway-1']) {
      const merged = translate({ resources: mesh('MERGE_SLASHES'), proxies: MESH_NODES }, node(id));
      expect(merged.listeners.map((l) => l.pathNormalization)).toEqual(
        merged.listeners.map(() => 'MERGE_SLASHES'),
      );
      const base = translate({ resources: mesh('DEFAULT'), proxies: MESH_NODES }, node(id));
      expect(base.listeners.map((l) => l.pathNormalization)).toEqual(base.listeners.map(() => undefined));
      expect(parseSnapshot(base).listeners[0]?.pathNormalization).toBe('BASE');
    }
  });

  it('names every registered workload as a known peer of a sidecar, once', () => {
    const twice = [...MESH_NODES, { ...node('service-a-v1-1'), id: 'service-a-v1-9', address: '10.0.0.9' }];
    const snapshot = translate({ resources: [], proxies: twice }, node('service-b-v2-1'));
    const names = snapshot.peers?.map((p) => p.workload);
    expect(names).toEqual([...new Set(MESH_NODES.map((n) => n.workload))].sort());
    expect(snapshot.peers?.find((p) => p.workload === 'service-b-v2')).toEqual({
      workload: 'service-b-v2',
      namespace: 'default',
      app: 'service-b',
      version: 'v2',
    });
  });

  it('turns matches, faults, mirrors, rewrites, headers and route rate limits into routes', () => {
    const resources = resourcesOf(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: b }
spec:
  host: service-b
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [service-b]
  http:
    - name: canary
      match:
        - headers: { x-canary: { exact: "yes" } }
          method: { exact: get }
          queryParams: { debug: {} }
        - uri: { prefix: /beta }
      route: [{ destination: { host: service-b, subset: v2 } }]
      fault: { abort: { httpStatus: 503, percentage: { value: 10 } } }
      mirror: { host: service-b, subset: v1 }
      rewrite: { uri: /, authority: b.internal }
      headers: { request: { set: { X-Env: test } } }
      retries: { attempts: 0 }
    - name: rest
      route:
        - { destination: { host: service-b, subset: v1 } }
        - { destination: { host: service-b, subset: v2 } }
        - { destination: { host: service-b, subset: v2 } }
---
apiVersion: strait.dev/v1alpha1
kind: RateLimit
metadata: { name: canary }
spec:
  targetRef: { kind: VirtualService, name: b }
  route: canary
  tokenBucket: { maxTokens: 5, tokensPerFill: 1, fillInterval: 100ms }
`);
    const snap = translate({ resources, proxies: MESH_NODES }, node('service-a-v1-1'));
    const vhost = snap.listeners[1]?.virtualHosts.find((v) => v.name === 'service-b:80');
    const routes = vhost?.routes ?? [];
    expect(routes.map((r) => r.name)).toEqual(['b.canary.0', 'b.canary.1', 'b.rest']);
    expect(routes[0]?.match).toEqual({
      path: { prefix: '/' },
      method: ['GET'],
      headers: [{ name: 'x-canary', match: { exact: 'yes' } }],
      queryParams: [{ name: 'debug' }],
    });
    expect(routes[1]?.match).toEqual({ path: { prefix: '/beta' } });
    expect(routes[0]?.route).toEqual({
      clusters: [{ cluster: 'outbound|80|v2|service-b', weight: 100 }],
      fault: { abort: { httpStatus: 503, percentage: 10 } },
      mirror: { cluster: 'outbound|80|v1|service-b', percentage: 100 },
      rewrite: { prefix: '/', authority: 'b.internal' },
      requestHeaders: { set: { 'x-env': 'test' } },
      rateLimit: { maxTokens: 5, tokensPerFill: 1, fillIntervalMs: 100 },
    });
    expect(routes[2]?.route?.clusters.map((c) => c.weight)).toEqual([34, 33, 33]);
    expect(routes[2]?.route?.rateLimit).toBeUndefined();
    expect(() => parseSnapshot(snap)).not.toThrow();
  });

  it('maps consistent hashing, subsets and WorkloadEntries into clusters', () => {
    const resources = resourcesOf(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: b }
spec:
  host: service-b
  trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: X-User } } }
  subsets:
    - name: v1
      labels: { version: v1 }
      trafficPolicy: { loadBalancer: { simple: RANDOM } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: b-vm }
spec: { address: 10.1.1.1, ports: { http: 9090 }, labels: { app: service-b, version: v1 }, weight: 5 }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [service-b]
  http: [{ route: [{ destination: { host: service-b, subset: v1 }, weight: 50 }, { destination: { host: service-b }, weight: 50 }] }]
`);
    const snap = translate({ resources, proxies: MESH_NODES }, node('service-a-v1-1'));
    const v1 = snap.clusters.find((c) => c.name === 'outbound|80|v1|service-b');
    const all = snap.clusters.find((c) => c.name === 'outbound|80||service-b');
    expect(v1?.lbPolicy).toBe('RANDOM');
    expect(v1?.endpoints.map((e) => `${e.address}:${e.port}/${e.weight}`)).toEqual([
      '10.1.1.1:9090/5',
      '127.0.2.1:15006/1',
    ]);
    expect(all?.lbPolicy).toBe('CONSISTENT_HASH');
    expect(all?.hashPolicy).toEqual({ header: 'x-user' });
    expect(all?.endpoints).toHaveLength(3);
  });

  it('gives ALLOW_ANY sidecars a passthrough and lets a Sidecar resource override the mesh mode', () => {
    const resources = resourcesOf(`
apiVersion: strait.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec: { outboundTrafficPolicy: { mode: REGISTRY_ONLY } }
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: b-open }
spec:
  workloadSelector: { labels: { app: service-b } }
  outboundTrafficPolicy: { mode: ALLOW_ANY }
`);
    const a = translate({ resources, proxies: MESH_NODES }, node('service-a-v1-1'));
    const b = translate({ resources, proxies: MESH_NODES }, node('service-b-v1-1'));
    expect(a.egress?.mode).toBe('REGISTRY_ONLY');
    expect(a.listeners[1]?.virtualHosts.some((v) => v.domains.includes('*'))).toBe(false);
    expect(b.egress?.mode).toBe('ALLOW_ANY');
    expect(b.listeners[1]?.virtualHosts.at(-1)?.domains).toEqual(['*']);
    expect(b.clusters.find((c) => c.name === 'PassthroughCluster')?.type).toBe('ORIGINAL_DST');
  });

  it('sends DNS-resolved external hosts to their original destination from the egress gateway', () => {
    const resources = resourcesOf(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext }
spec:
  hosts: [httpbin.org]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: DNS
`);
    const egress = translate({ resources, proxies: MESH_NODES }, node('istio-egressgateway-1'));
    // Default mesh mode is ALLOW_ANY (Istio's), so a passthrough cluster comes along.
    expect(egress.clusters).toEqual([
      { name: 'outbound|80||httpbin.org', type: 'ORIGINAL_DST', service: 'httpbin.org', endpoints: [] },
      { name: 'PassthroughCluster', type: 'ORIGINAL_DST', endpoints: [] },
    ]);
    expect(egress.egress).toEqual({
      mode: 'ALLOW_ANY',
      allow: [{ host: 'httpbin.org', ports: [80], resolution: 'DNS' }],
    });
    const sidecar = translate({ resources, proxies: MESH_NODES }, node('service-a-v1-1'));
    const viaEgress = sidecar.clusters.find((c) => c.name === 'outbound|80||httpbin.org');
    expect(viaEgress?.forwardProxy).toBe(true);
    expect(viaEgress?.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['127.0.4.1:15443']);
  });
});
