// AuthorizationPolicy across real processes (control plane, ingress, sidecars, apps on 127.0.190.0/24) with
// real mTLS: each field family as Istio's reference and HTTP-traffic task use it (allow-nothing, deny-all,
// principals, namespaces, notMethods, paths, ports, request headers, ipBlocks, DENY over ALLOW, a gateway
// policy), the 403 `RBAC: access denied` and its RBAC flag in the metrics, and CUSTOM refused at apply.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiAuth, get, type Mesh, startMesh } from './control-plane-support.ts';
import {
  type ClientCert,
  changeResources,
  inboundRequest,
  meshCertificate,
  meshRoot,
} from './support/mesh-client.ts';

const BLOCK = '127.0.190';
const DENIED = 'RBAC: access denied';

let mesh: Mesh;
let trust: string;
/** A workload that is not service-a: `cluster.local/ns/default/sa/service-c`. */
let serviceC: ClientCert;
/** What the test applied, deleted after each test. */
let applied: string[] = [];

beforeAll(async () => {
  mesh = await startMesh(0, { block: BLOCK });
  trust = await meshRoot(mesh);
  serviceC = await meshCertificate(mesh, 'service-c');
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
});

afterEach(async () => {
  if (applied.length > 0) await changeResources(mesh, applied.join('---\n'), 'DELETE');
  applied = [];
});

/** Applies AuthorizationPolicies (name, namespace, spec as YAML flow text) and waits for the proxies. */
async function policy(...docs: [name: string, namespace: string, spec: string][]): Promise<void> {
  const yaml = docs.map(
    ([name, ns, spec]) =>
      `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: ${ns} }\nspec: ${spec}\n`,
  );
  await changeResources(mesh, yaml.join('---\n'));
  applied.push(...yaml);
}

const ON_B = 'selector: { matchLabels: { app: service-b } }';

/** service-c calling service-b v1's inbound over mTLS. */
const asServiceC = (options: Parameters<typeof inboundRequest>[1] = {}) =>
  inboundRequest(mesh.layout.serviceB1, { client: serviceC, trust, ...options });

/** A plain-text caller of service-b v1 (the test mesh's PeerAuthentication is PERMISSIVE). */
const plain = (options: Parameters<typeof inboundRequest>[1] = {}) =>
  inboundRequest(mesh.layout.serviceB1, { plain: true, ...options });

async function expectDenied(answer: Promise<{ status: number; text: string }>): Promise<void> {
  const { status, text } = await answer;
  expect(status).toBe(403);
  expect(text).toBe(DENIED);
}

describe('AuthorizationPolicy', () => {
  it('allow-nothing on service-b refuses everyone, counted as 403 RBAC by the destination', async () => {
    await policy(['allow-nothing', 'default', `{ ${ON_B} }`]);
    await expectDenied(asServiceC());
    const front = await mesh.front();
    expect(front.status).toBe(403);
    expect(front.text).toBe(`a>${DENIED}`);
    const stats = (await get(`http://${mesh.layout.serviceB1}:15090/stats/prometheus`)).text;
    expect(stats).toMatch(
      /istio_requests_total\{[^}]*reporter="destination"[^}]*source_workload="service-a-v1"[^}]*response_code="403"[^}]*response_flags="RBAC"/,
    );
  });

  it('deny-all in the namespace refuses at the ingress too (it is a workload of the namespace)', async () => {
    await policy(['deny-all', 'default', '{ action: DENY, rules: [{}] }']);
    const front = await mesh.front();
    expect(front.status).toBe(403);
    expect(front.text).toBe(DENIED);
    const stats = (await get(`http://${mesh.layout.ingress}:15090/stats/prometheus`)).text;
    expect(stats).toMatch(/istio_requests_total\{[^}]*response_code="403"[^}]*response_flags="RBAC"/);
  });

  it('principals: only service-a may call service-b, not service-c nor a plain-text caller', async () => {
    await policy([
      'only-a',
      'default',
      `{ ${ON_B}, rules: [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/service-a"] } }] }] }`,
    ]);
    expect((await mesh.front()).status).toBe(200);
    await expectDenied(asServiceC());
    await expectDenied(plain());
  });

  it('namespaces: any mTLS caller from default, no plain-text one; notNamespaces excludes', async () => {
    await policy([
      'from-default',
      'default',
      `{ ${ON_B}, rules: [{ from: [{ source: { namespaces: ["default"] } }] }] }`,
    ]);
    expect((await asServiceC()).status).toBe(200);
    await expectDenied(plain());
    await policy([
      'not-default',
      'default',
      `{ ${ON_B}, action: DENY, rules: [{ from: [{ source: { notNamespaces: ["shop"] } }] }] }`,
    ]);
    await expectDenied(asServiceC());
  });

  it('notMethods: everything but DELETE', async () => {
    await policy([
      'no-delete',
      'default',
      `{ ${ON_B}, rules: [{ to: [{ operation: { notMethods: ["DELETE"] } }] }] }`,
    ]);
    expect((await asServiceC({ method: 'GET' })).status).toBe(200);
    expect((await asServiceC({ method: 'POST' })).status).toBe(200);
    await expectDenied(asServiceC({ method: 'DELETE' }));
  });

  it('paths by prefix and suffix, on the normalized path', async () => {
    await policy([
      'paths',
      'default',
      `{ ${ON_B}, rules: [{ to: [{ operation: { paths: ["/info*", "*/healthz"] } }] }] }`,
    ]);
    expect((await asServiceC({ path: '/info/x?y=1' })).status).toBe(200);
    expect((await asServiceC({ path: '/a/healthz' })).status).toBe(200);
    await expectDenied(asServiceC({ path: '/secret' }));
    // /info/../secret is /secret once normalized: it is not under /info.
    await expectDenied(asServiceC({ path: '/info/../secret' }));
  });

  it("ports: the workload's port (8080) matches, another does not", async () => {
    await policy([
      'port-8080',
      'default',
      `{ ${ON_B}, rules: [{ to: [{ operation: { ports: ["8080"] } }] }] }`,
    ]);
    expect((await asServiceC()).status).toBe(200);
    await policy([
      'port-9090',
      'default',
      `{ ${ON_B}, action: DENY, rules: [{ to: [{ operation: { notPorts: ["9090"] } }] }] }`,
    ]);
    await expectDenied(asServiceC());
  });

  it('when request.headers: a header with a matching value, and no other', async () => {
    await policy([
      'token',
      'default',
      `{ ${ON_B}, rules: [{ when: [{ key: "request.headers[x-token]", values: ["abc*"] }] }] }`,
    ]);
    expect((await asServiceC({ headers: { 'x-token': 'abc123' } })).status).toBe(200);
    await expectDenied(asServiceC({ headers: { 'x-token': 'zzz' } }));
    await expectDenied(asServiceC());
  });

  it("ipBlocks: a DENY for one caller's address refuses it and no other", async () => {
    await policy([
      'deny-ip',
      'default',
      `{ ${ON_B}, action: DENY, rules: [{ from: [{ source: { ipBlocks: ["${BLOCK}.99/32"] } }] }] }`,
    ]);
    await expectDenied(plain({ localAddress: `${BLOCK}.99` }));
    expect((await plain({ localAddress: `${BLOCK}.98` })).status).toBe(200);
  });

  it('DENY beats ALLOW: allow-all with a DENY on /admin*', async () => {
    await policy(
      ['allow-all', 'default', `{ ${ON_B}, rules: [{}] }`],
      [
        'deny-admin',
        'default',
        `{ ${ON_B}, action: DENY, rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }] }`,
      ],
    );
    expect((await asServiceC({ path: '/' })).status).toBe(200);
    await expectDenied(asServiceC({ path: '/admin/users' }));
  });

  it('a root-namespace policy selecting the ingress gateway applies there', async () => {
    await policy([
      'gateway-deny',
      'istio-system',
      '{ selector: { matchLabels: { istio: ingressgateway } }, action: DENY, rules: [{ to: [{ operation: { paths: ["/blocked"] } }] }] }',
    ]);
    expect((await mesh.front('/')).status).toBe(200);
    const blocked = await mesh.front('/blocked');
    expect(blocked.status).toBe(403);
    expect(blocked.text).toBe(DENIED);
  });

  it('straitctl x authz check lists the policies in force on a workload, and describe gives the verdict', async () => {
    await policy(
      ['allow-all', 'default', `{ ${ON_B}, rules: [{}, {}] }`],
      [
        'deny-admin',
        'istio-system',
        '{ action: DENY, rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }] }',
      ],
    );
    const b = await mesh.straitctl('x', 'authz', 'check', 'service-b-v1-1');
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/DENY\s+deny-admin\.istio-system\s+mesh\s+1\s+virtualInbound/);
    expect(b.stdout).toMatch(/ALLOW\s+allow-all\.default\s+workload\s+2\s+virtualInbound/);
    const a = await mesh.straitctl('x', 'authz', 'check', 'service-a-v1-1', '-o', 'json');
    expect(JSON.parse(a.stdout).map((r: { name: string }) => r.name)).toEqual(['deny-admin']);
    // The mesh-wide DENY applies at the ingress too: describe says so for /admin, and the proxy agrees.
    const d = await mesh.straitctl(
      'describe',
      'request',
      '--from',
      'istio-ingressgateway-1',
      'http://shop/admin/x',
    );
    expect(d.stdout).toMatch(
      /403 RBAC: RBAC: access denied \(DENY policy istio-system\/deny-admin matched\)/,
    );
    expect((await mesh.front('/admin/x')).status).toBe(403);
  });

  it('refuses CUSTOM at apply, naming spec.action, and keeps serving', async () => {
    const res = await fetch(`${mesh.server}/v1/resources`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml', ...(await apiAuth(mesh.configDir)) },
      body: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ext, namespace: default }\nspec: { action: CUSTOM, provider: { name: ext-authz }, rules: [{}] }\n',
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('spec.action');
    expect(text).toContain('CUSTOM (an external authorizer) is not supported');
    expect((await mesh.front()).status).toBe(200);
  });
});
