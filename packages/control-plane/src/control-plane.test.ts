// The control plane in-process with scripted proxies: push, ACK/NACK bookkeeping, the resource API
// (validation, persistence, tokens), file watching, the registry's grace period and Prometheus discovery.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeInfo } from '@strait/api';
import type { Resource } from '@strait/api/resources';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
import { FakeProxy } from './testing/fake-proxy.ts';
import { MESH_NODES } from './testing/mesh-nodes.ts';

const MESH_DIR = new URL('./testdata/mesh', import.meta.url).pathname;
const nodeOf = (id: string) => MESH_NODES.find((n) => n.id === id) as NodeInfo;

const split = (v1: number, v2: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: service-b }
spec:
  hosts: [service-b]
  http:
    - name: split
      route:
        - destination: { host: service-b, subset: v1 }
          weight: ${v1}
        - destination: { host: service-b, subset: v2 }
          weight: ${v2}
`;
const SPLIT_50 = split(50, 50);

interface Harness {
  plane: ControlPlane;
  dir: string;
  base: string;
  monitoring: string;
  proxies: FakeProxy[];
  /** When the control plane was made (its warm-up counts from then). */
  createdAt: number;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options: Partial<ControlPlaneOptions> = {}, dir?: string): Promise<Harness> {
  const configDir = dir ?? (await mkdtemp(join(tmpdir(), 'strait-cp-')));
  if (!dir) {
    await cp(MESH_DIR, configDir, { recursive: true });
    cleanups.push(() => rm(configDir, { recursive: true, force: true }));
  }
  const createdAt = Date.now();
  const plane = new ControlPlane({
    configDir,
    address: '127.0.0.1',
    port: 0,
    monitoringPort: 0,
    debounceMs: 20,
    graceMs: 300,
    logger: pino({ level: process.env.CP_TEST_LOG ?? 'silent' }),
    ...options,
  });
  const { port, monitoringPort } = await plane.start();
  const h: Harness = {
    plane,
    dir: configDir,
    base: `http://127.0.0.1:${port}`,
    monitoring: `http://127.0.0.1:${monitoringPort}`,
    proxies: [],
    createdAt,
  };
  cleanups.push(async () => {
    for (const p of h.proxies) await p.disconnect();
    await plane.stop();
  });
  return h;
}

function proxy(h: Harness, id: string, token?: string): FakeProxy {
  const p = new FakeProxy(h.base, nodeOf(id), token);
  h.proxies.push(p);
  return p;
}

async function statusOf(h: Harness, id: string) {
  const body = (await (await fetch(`${h.base}/v1/proxies`)).json()) as {
    proxies: { id: string; status: string }[];
  };
  return body.proxies.find((p) => p.id === id) as Record<string, unknown> | undefined;
}

async function put(h: Harness, yaml: string, token?: string): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/yaml',
    'x-strait-source': 'canary.yaml',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${h.base}/v1/resources`, { method: 'PUT', headers, body: yaml });
}

describe('discovery', () => {
  it('sends the snapshot at once, records the ACK and reports SYNCED', async () => {
    const h = await start();
    const a = proxy(h, 'service-a-v1-1');
    expect(await a.connect()).toBe(200);
    const first = await a.waitForSnapshots(1);
    expect(first.snapshot.listeners.map((l) => l.kind)).toEqual(['inbound', 'outbound']);
    expect(await statusOf(h, 'service-a-v1-1')).toMatchObject({ status: 'STALE', connected: true });
    expect((await a.ack(first)).status).toBe(200);
    expect(await statusOf(h, 'service-a-v1-1')).toMatchObject({
      status: 'SYNCED',
      ackedVersion: first.version,
      role: 'sidecar',
      workload: 'service-a-v1',
      address: '127.0.1.1',
    });
    const metrics = await (await fetch(`${h.monitoring}/metrics`)).text();
    expect(metrics).toMatch(/^pilot_xds 1$/m);
    expect(metrics).toMatch(/^pilot_xds_pushes\{type="cds"\} 1$/m);
    expect(metrics).toMatch(/^pilot_proxy_convergence_time_count 1$/m);
    expect(metrics).toMatch(/^istio_build\{component="pilot",tag="[^"]+"\} 1$/m);
  });

  it('pushes an applied change to every affected proxy, persists it, and skips unchanged ones', async () => {
    const h = await start();
    const a = proxy(h, 'service-a-v1-1');
    const egress = proxy(h, 'istio-egressgateway-1');
    await egress.connect();
    await egress.ack(await egress.waitForSnapshots(1));
    await a.connect();
    await a.ack(await a.waitForSnapshots(1));
    const res = await put(h, SPLIT_50);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { results: unknown[] }).results).toEqual([
      {
        kind: 'VirtualService',
        name: 'service-b',
        namespace: 'default',
        action: 'configured',
        resourceVersion: expect.stringMatching(/^[0-9a-f]{16}$/),
      },
    ]);
    const second = await a.waitForSnapshots(2);
    const outbound = second.snapshot.listeners.find((l) => l.kind === 'outbound');
    const split = outbound?.virtualHosts.find((v) => v.name === 'service-b:80')?.routes[0]?.route?.clusters;
    expect(split?.map((c) => c.weight)).toEqual([50, 50]);
    // A weight is a route: the delta carries the outbound route table and nothing else.
    expect(second.delta.full).toBeUndefined();
    expect(second.delta.resources.map((r) => `${r.type}/${r.name}`)).toEqual(['routes/virtualOutbound']);
    expect(second.delta.removed).toEqual([]);
    await a.ack(second);
    expect(await statusOf(h, 'service-a-v1-1')).toMatchObject({
      status: 'SYNCED',
      ackedVersion: second.version,
    });
    // The egress gateway's snapshot does not depend on that route: nothing new was sent to it.
    await new Promise((r) => setTimeout(r, 100));
    expect(egress.snapshots).toHaveLength(1);
    // Persisted into the file it came from, other documents kept.
    const file = await readFile(join(h.dir, 'services.yaml'), 'utf8');
    expect(file).toContain('weight: 50');
    expect(file).toContain('kind: HealthCheck');
    const got = (await (await fetch(`${h.base}/v1/resources/virtualservice/service-b`)).json()) as {
      spec: { http: { route: { weight: number }[] }[] };
    };
    expect(got.spec.http[0]?.route.map((r) => r.weight)).toEqual([50, 50]);
    // Applying the same thing again changes nothing.
    const again = await put(h, SPLIT_50);
    expect(((await again.json()) as { results: { action: string }[] }).results[0]?.action).toBe('unchanged');
  });

  it('takes a write carrying the resourceVersion read, and refuses a stale one with 409 and both versions', async () => {
    const h = await start();
    const read = (await (await fetch(`${h.base}/v1/resources/virtualservice/service-b`)).json()) as {
      metadata: { resourceVersion: string };
    };
    const withVersion = (yaml: string, version: string) =>
      yaml.replace(
        'metadata: { name: service-b }',
        `metadata: { name: service-b, resourceVersion: "${version}" }`,
      );
    const first = await put(h, withVersion(SPLIT_50, read.metadata.resourceVersion));
    expect(first.status).toBe(200);
    const now = ((await first.json()) as { results: { resourceVersion: string }[] }).results[0]
      ?.resourceVersion;
    expect(now).not.toBe(read.metadata.resourceVersion);
    // A second writer that read the same version loses: nothing of its request is written.
    const stale = await put(h, withVersion(split(70, 30), read.metadata.resourceVersion));
    expect(stale.status).toBe(409);
    const body = (await stale.json()) as { error: { code: string; message: string; conflicts: unknown[] } };
    expect(body.error.code).toBe('STRAIT_CONFLICT');
    expect(body.error.conflicts).toEqual([
      {
        kind: 'VirtualService',
        name: 'service-b',
        namespace: 'default',
        sent: read.metadata.resourceVersion,
        current: now,
      },
    ]);
    expect(body.error.message).toContain(`at resourceVersion ${now}, not ${read.metadata.resourceVersion}`);
    expect(await readFile(join(h.dir, 'services.yaml'), 'utf8')).toContain('weight: 50');
    expect(await readFile(join(h.dir, 'services.yaml'), 'utf8')).not.toContain('resourceVersion');
  });

  it('refuses an invalid apply whole, with the error, and keeps serving the last good config', async () => {
    const h = await start();
    const a = proxy(h, 'service-a-v1-1');
    await a.connect();
    await a.ack(await a.waitForSnapshots(1));
    const before = await readFile(join(h.dir, 'services.yaml'), 'utf8');
    const bad = `${SPLIT_50}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: extra }
spec:
  hosts: [service-c]
  http: [{ route: [{ destination: { host: service-b, subset: v9 } }] }]
`.replace('weight: 50\n        - destination', 'weight: 50\n        - destination');
    const res = await put(h, bad);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('STRAIT_CONFIG_DANGLING_REF');
    expect(body.error.message).toContain(
      'canary.yaml: document 2 (VirtualService extra): spec.http[0].route[0].destination.subset: subset "v9"',
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(a.snapshots).toHaveLength(1);
    expect(await readFile(join(h.dir, 'services.yaml'), 'utf8')).toBe(before);
    const metrics = await (await fetch(`${h.monitoring}/metrics`)).text();
    expect(metrics).toMatch(/^strait_config_validation_failures_total\{source="api"\} 1$/m);
  });

  it('records a NACK per resource, reports NACKED, and does not send the refused config again', async () => {
    const h = await start();
    const a = proxy(h, 'service-a-v1-1');
    await a.connect();
    const first = await a.waitForSnapshots(1);
    await a.ack(first);
    await put(h, SPLIT_50);
    const second = await a.waitForSnapshots(2);
    const rejected = [{ type: 'routes' as const, name: 'virtualOutbound', error: 'bad weights' }];
    await a.nack(second, 'cannot apply routes', first.version, rejected);
    expect(await statusOf(h, 'service-a-v1-1')).toMatchObject({
      status: 'NACKED',
      ackedVersion: first.version,
      lastNack: {
        error: 'cannot apply routes',
        keptVersion: first.version,
        version: second.version,
        resources: rejected,
      },
    });
    const metrics = await (await fetch(`${h.monitoring}/metrics`)).text();
    expect(metrics).toMatch(/^pilot_total_xds_rejects\{type="rds"\} 1$/m);
    expect(metrics).toMatch(/^pilot_total_xds_rejects\{type="cds"\} 0$/m);
    await new Promise((r) => setTimeout(r, 150));
    expect(a.snapshots).toHaveLength(2);
    // The next change is sent against what the proxy kept: the refused route table comes again with it.
    await put(h, split(40, 60));
    const third = await a.waitForSnapshots(3);
    expect(third.delta.resources.map((r) => `${r.type}/${r.name}`)).toEqual(['routes/virtualOutbound']);
  });

  it('answers a NACK that keeps another version, and a missing answer, with the full state', async () => {
    const h = await start({ ackTimeoutMs: 300 });
    const a = proxy(h, 'service-a-v1-1');
    await a.connect();
    const first = await a.waitForSnapshots(1);
    expect(first.delta.full).toBe(true);
    await a.ack(first);
    await put(h, SPLIT_50);
    const second = await a.waitForSnapshots(2);
    // The proxy says it runs something the control plane never sent it: only the full state is safe.
    await a.nack(second, 'lost my config', 'something-else');
    await put(h, split(40, 60));
    const third = await a.waitForSnapshots(3);
    expect(third.delta.full).toBe(true);
    expect(third.delta.resources.length).toBeGreaterThan(4);
    // No answer at all: after the timeout the next message is the full state too.
    await put(h, split(30, 70));
    const fourth = await a.waitForSnapshots(4, 3000);
    expect(fourth.delta.full).toBe(true);
  });

  it('refuses an ACK that does not match the schema with a 400 naming the field', async () => {
    const h = await start();
    const a = proxy(h, 'service-a-v1-1');
    await a.connect();
    await a.waitForSnapshots(1);
    const res = await fetch(`${h.base}/v1/discovery/ack`, {
      method: 'POST',
      body: JSON.stringify({ nodeId: 'service-a-v1-1', type: 'ack', nonce: 'x' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('STRAIT_BAD_REQUEST');
    expect(body.error.message).toMatch(/discovery ack: version/);
  });

  it('does not resend what a reconnecting proxy already holds', async () => {
    const h = await start();
    const a = proxy(h, 'service-a-v1-1');
    await a.connect();
    const first = await a.waitForSnapshots(1);
    await a.ack(first);
    await a.disconnect();
    const again = proxy(h, 'service-a-v1-1');
    await again.connect(a.holding());
    await again.waitFor((p) => p.messages.length >= 1);
    expect(again.messages[0]?.type).toBe('heartbeat');
    expect(await statusOf(h, 'service-a-v1-1')).toMatchObject({ status: 'SYNCED', connected: true });
  });

  it('sends a reconnecting proxy only the resources that changed while it was away', async () => {
    const h = await start({ warmupMs: 0 });
    const a = proxy(h, 'service-a-v1-1');
    await a.connect();
    await a.ack(await a.waitForSnapshots(1));
    await a.disconnect();
    expect((await put(h, SPLIT_50)).status).toBe(200);
    await a.connect(a.holding());
    const next = await a.waitForSnapshots(2);
    expect(next.delta.full).toBeUndefined();
    expect(next.delta.resources.map((r) => `${r.type}/${r.name}`)).toEqual(['routes/virtualOutbound']);
  });

  it('registers sidecars as endpoints and removes them only after the grace period', async () => {
    const h = await start({ graceMs: 400 });
    const a = proxy(h, 'service-a-v1-1');
    await a.connect();
    await a.ack(await a.waitForSnapshots(1));
    const endpointsOfV2 = (p: FakeProxy) =>
      p.snapshots.at(-1)?.snapshot.clusters.find((c) => c.name === 'outbound|80|v2|service-b')?.endpoints ??
      [];
    expect(endpointsOfV2(a)).toEqual([]);
    const b2 = proxy(h, 'service-b-v2-1');
    await b2.connect();
    await a.waitFor((p) => endpointsOfV2(p).length === 1);
    // A new endpoint is endpoints (EDS) of the cluster it belongs to; its workload is new, so the known
    // peers come along.
    expect(a.snapshots.at(-1)?.delta.resources.map((r) => `${r.type}/${r.name}`)).toEqual([
      'endpoints/outbound|80|v2|service-b',
      'peers/peers',
    ]);
    await a.ack(a.snapshots.at(-1) as NonNullable<ReturnType<typeof a.snapshots.at>>);
    expect(endpointsOfV2(a)[0]).toMatchObject({
      address: '127.0.3.1',
      port: 15006,
      labels: { version: 'v2' },
    });
    const disconnectedAt = Date.now();
    await b2.disconnect();
    await a.waitFor((p) => endpointsOfV2(p).length === 0, 5000);
    expect(Date.now() - disconnectedAt).toBeGreaterThanOrEqual(350);
  });

  it("scopes a sidecar by its Sidecar's egress hosts: a new endpoint of a service it cannot call sends it nothing", async () => {
    const h = await start();
    const res = await put(
      h,
      `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: service-a }
spec:
  workloadSelector: { labels: { app: service-a } }
  egress: [{ hosts: ["./service-a", "*/api.partner.example"] }]
`,
    );
    expect(res.status, await res.clone().text()).toBe(200);
    const autoAck = (id: string) => {
      const p = new FakeProxy(h.base, nodeOf(id), undefined, { autoAck: true });
      h.proxies.push(p);
      return p;
    };
    const a = autoAck('service-a-v1-1');
    const ingress = autoAck('istio-ingressgateway-1');
    const b2 = autoAck('service-b-v2-1');
    for (const p of [a, ingress, b2]) await p.connect();
    // Settled: every proxy ACKed what the control plane wants it to run, and nothing new came for a while.
    const settle = async () => {
      let counts = '';
      for (;;) {
        await new Promise((r) => setTimeout(r, 250));
        const synced = (await Promise.all([a, ingress, b2].map((p) => statusOf(h, p.node.id)))).every(
          (row) => row?.status === 'SYNCED',
        );
        const now = [a, ingress, b2].map((p) => p.snapshots.length).join();
        if (synced && now === counts) return;
        counts = now;
      }
    };
    await settle();
    const last = a.snapshots.at(-1)?.snapshot;
    const outbound = last?.listeners.find((l) => l.kind === 'outbound');
    expect(outbound?.virtualHosts.map((v) => v.name)).toEqual(['service-a:80', 'api.partner.example:80']);
    expect(last?.clusters.some((c) => c.name.endsWith('|service-b'))).toBe(false);
    expect(last?.egress?.allow.map((r) => r.host)).toEqual(['api.partner.example']);
    // service-b-v2 gets a second pod: the ingress (which routes to service-a) and service-a's sidecar (which
    // may not call service-b) hear nothing; a new workload would have reached them, as a peer to label.
    const [fromA, fromIngress] = [a.snapshots.length, ingress.snapshots.length];
    const second = new FakeProxy(h.base, {
      ...nodeOf('service-b-v2-1'),
      id: 'service-b-v2-2',
      address: '127.0.3.2',
    });
    h.proxies.push(second);
    await second.connect();
    await second.waitForSnapshots(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.snapshots).toHaveLength(fromA);
    expect(ingress.snapshots).toHaveLength(fromIngress);
    // b2 calls service-b (no Sidecar scopes it): it is sent the new endpoint, and only that.
    expect(b2.snapshots.at(-1)?.delta.resources.map((r) => r.type)).toEqual(['endpoints']);
  });

  it('after a restart, holds pushes to reconnecting proxies until the warm-up ends', async () => {
    const h = await start({ warmupMs: 600, stateFile: false });
    const a = proxy(h, 'service-a-v1-1');
    const old = (version: string) => ({
      version,
      resources: [{ type: 'listener' as const, name: 'virtualOutbound', version }],
    });
    await a.connect(old('version-before-restart'));
    const b2 = proxy(h, 'service-b-v2-1');
    await b2.connect(old('another-old-version'));
    const first = await a.waitForSnapshots(1);
    expect(Date.now() - h.createdAt).toBeGreaterThanOrEqual(600);
    // One push, with the endpoint that re-registered during the warm-up already in it.
    const v2 = first.snapshot.clusters.find((c) => c.name === 'outbound|80|v2|service-b');
    expect(v2?.endpoints.map((e) => e.address)).toEqual(['127.0.3.1']);
    await new Promise((r) => setTimeout(r, 150));
    expect(a.snapshots).toHaveLength(1);
  });

  it('picks up direct edits to the config directory, and ignores invalid ones', async () => {
    const h = await start();
    const a = proxy(h, 'service-a-v1-1');
    await a.connect();
    await a.ack(await a.waitForSnapshots(1));
    await writeFile(
      join(h.dir, 'broken.yaml'),
      'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: { name: x }\nspec: { bogus: 1 }\n',
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(a.snapshots).toHaveLength(1);
    await rm(join(h.dir, 'broken.yaml'));
    await writeFile(
      join(h.dir, 'split.yaml'),
      SPLIT_50.replace('name: service-b }', 'name: b-split }').replace(
        'hosts: [service-b]',
        'hosts: [service-b.default]',
      ),
    );
    const second = await a.waitForSnapshots(2);
    const vhost = second.snapshot.listeners[1]?.virtualHosts.find((v) => v.name === 'service-b:80');
    expect(vhost?.routes.map((r) => r.name)).toEqual(['service-b.split', 'b-split.split']);
  });

  it('lists every connected proxy and itself for Prometheus', async () => {
    const h = await start();
    const a = proxy(h, 'service-a-v1-1');
    const ingress = proxy(h, 'istio-ingressgateway-1');
    await a.connect();
    await ingress.connect();
    await a.waitForSnapshots(1);
    await ingress.waitForSnapshots(1);
    const groups = (await (await fetch(`${h.monitoring}/v1/prometheus/targets`)).json()) as {
      targets: string[];
      labels: Record<string, string>;
    }[];
    expect(groups).toHaveLength(3);
    expect(groups[1]).toEqual({
      targets: ['127.0.1.1:15090'],
      labels: {
        __metrics_path__: '/stats/prometheus',
        job: 'strait-proxies',
        proxy_id: 'service-a-v1-1',
        role: 'sidecar',
        workload: 'service-a-v1',
        namespace: 'default',
        service: 'service-a',
        version: 'v1',
      },
    });
    expect(groups[0]?.targets).toEqual(['127.0.0.1:15090']);
    expect(groups[2]?.labels.__metrics_path__).toBe('/metrics');
    expect(groups[2]?.targets[0]).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});

describe('resource API', () => {
  it('with a token, refuses writes and snapshot reads without it (401) and changes nothing', async () => {
    const h = await start({ token: 's3cret' });
    expect((await put(h, SPLIT_50)).status).toBe(401);
    expect((await put(h, SPLIT_50, 'wrong')).status).toBe(401);
    const del = await fetch(`${h.base}/v1/resources/virtualservice/service-b`, { method: 'DELETE' });
    expect(del.status).toBe(401);
    expect((await fetch(`${h.base}/v1/snapshots/service-a-v1-1`)).status).toBe(401);
    const anonymous = proxy(h, 'service-a-v1-1');
    expect(await anonymous.connect()).toBe(401);
    expect(await readFile(join(h.dir, 'services.yaml'), 'utf8')).toContain('weight: 90');
    expect((await put(h, SPLIT_50, 's3cret')).status).toBe(200);
    const withToken = proxy(h, 'service-a-v1-1', 's3cret');
    expect(await withToken.connect()).toBe(200);
    const snap = await fetch(`${h.base}/v1/snapshots/service-a-v1-1`, {
      headers: { authorization: 'Bearer s3cret' },
    });
    expect(snap.status).toBe(200);
  });

  it('creates new resources in their own file, lists them by kind, deletes them, and refuses dangling deletes', async () => {
    const h = await start();
    const created = await put(
      h,
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: httpbin }
spec:
  hosts: [httpbin.org]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: DNS
`,
    );
    expect(created.status).toBe(200);
    expect(await readFile(join(h.dir, 'serviceentry-httpbin.yaml'), 'utf8')).toContain('httpbin.org');
    const list = (await (await fetch(`${h.base}/v1/resources/serviceentries`)).json()) as {
      items: { metadata: { name: string } }[];
    };
    expect(list.items.map((i) => i.metadata.name)).toEqual(['api-partner', 'httpbin']);
    const yaml = await (await fetch(`${h.base}/v1/resources/ServiceEntry/httpbin?format=yaml`)).text();
    expect(yaml).toMatch(/^apiVersion: networking.istio.io\/v1\nkind: ServiceEntry/);
    const deleted = await fetch(`${h.base}/v1/resources/serviceentry/httpbin`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    await expect(readFile(join(h.dir, 'serviceentry-httpbin.yaml'), 'utf8')).rejects.toThrow();
    // Deleting the DestinationRule would leave the VirtualService's subsets dangling.
    const dangling = await fetch(`${h.base}/v1/resources/destinationrule/service-b`, { method: 'DELETE' });
    expect(dangling.status).toBe(400);
    expect(((await dangling.json()) as { error: { code: string } }).error.code).toBe(
      'STRAIT_CONFIG_DANGLING_REF',
    );
    expect((await fetch(`${h.base}/v1/resources/gateway/nope`)).status).toBe(404);
    // Deleting a list where one is missing deletes nothing.
    const body = `apiVersion: strait.dev/v1alpha1
kind: HealthCheck
metadata: { name: service-a }
---
apiVersion: strait.dev/v1alpha1
kind: HealthCheck
metadata: { name: not-there }
`;
    const partial = await fetch(`${h.base}/v1/resources`, { method: 'DELETE', body });
    expect(partial.status).toBe(404);
    expect(((await partial.json()) as { error: { message: string } }).error.message).toContain(
      'HealthCheck "not-there"',
    );
    expect((await fetch(`${h.base}/v1/resources/healthcheck/service-a`)).status).toBe(200);
  });

  it('keeps applied resources and registrations across a restart', async () => {
    const h = await start();
    const b2 = proxy(h, 'service-b-v2-1');
    await b2.connect();
    await b2.waitForSnapshots(1);
    expect((await put(h, SPLIT_50)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 400)); // the registry is saved after a short debounce
    await b2.disconnect();
    h.proxies.length = 0;
    await h.plane.stop();
    cleanups.pop();
    const again = await start({}, h.dir);
    const vs = again.plane.store.find('VirtualService', 'service-b')[0] as
      | Resource<'VirtualService'>
      | undefined;
    expect(vs?.spec.http?.[0]?.route?.map((r) => r.weight)).toEqual([50, 50]);
    expect(again.plane.registry.nodes().map((n) => n.id)).toEqual(['service-b-v2-1']);
  });
});
