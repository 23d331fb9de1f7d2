// straitctl describe against the demo mesh (the launcher on 127.0.170.x … 127.0.174.x), checked against real
// requests sent the same way: a matching route, a near miss before a match, no route at all, and an
// endpoint the calling proxy has taken out after its app was killed; describe pod agrees with the traffic.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../packages/cli/src/program.ts';
import { type Mesh, RepoRoot, startMesh } from '../packages/demo/src/launcher/mesh.ts';
import { offsetPlan, podAddress } from '../packages/demo/src/topology.ts';
import { waitFor } from './support/processes.ts';

const plan = offsetPlan(170);
const FROM = 'service-a-v1-1';
let mesh: Mesh;
let stateDir: string;

// service-b by header, then by path; anything else has no route.
const ROUTES = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: service-b }
spec:
  hosts: [service-b]
  http:
    - name: user-a
      match: [{ headers: { x-user: { exact: a } } }]
      route: [{ destination: { host: service-b, subset: v2 } }]
    - name: api
      match: [{ uri: { prefix: /api } }]
      route: [{ destination: { host: service-b, subset: v1 } }]
      retries: { attempts: 2, retryOn: "gateway-error,connect-failure,reset" }
      timeout: 5s
`;

interface Answer {
  status: number;
  pod?: string;
  version?: string;
  body: string;
}

/** A request in absolute form through a sidecar's outbound listener, as the app behind it sends one. */
function fromPod(podId: string, url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: podAddress(plan, podId),
        port: 15001,
        path: url,
        headers: { host: target.host, ...headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => {
          let parsed: { pod?: string; version?: string } = {};
          try {
            parsed = JSON.parse(body) as typeof parsed;
          } catch {
            // not the app's JSON: a local answer of the proxy
          }
          resolve({ status: res.statusCode ?? 0, body, ...parsed });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function many(count: number, url: string, headers: Record<string, string> = {}): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < count; i++) out.push(await fromPod(FROM, url, headers));
  return out;
}

async function straitctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(
    args,
    { out: (t) => (out += t), err: (t) => (err += t), stdin: async () => '' },
    { STRAIT_SERVER: mesh.controlPlaneUrl, STRAIT_TOKEN_FILE: mesh.apiTokenFile },
  );
  return { code, out, err };
}

interface DescribedCluster {
  cluster: string;
  percent: number;
  state?: { subset?: string; healthy: number; endpoints: { address: string; health: string }[] };
}

interface Described {
  route?: { name: string };
  nearMisses: { route: string; reason: string }[];
  clusters: DescribedCluster[];
  outcome: string;
}

async function describeJson(url: string, ...headers: string[]): Promise<Described> {
  const args = ['describe', 'request', '--from', FROM, url, '-o', 'json'];
  for (const h of headers) args.push('-H', h);
  const result = await straitctl(...args);
  expect(result.code, result.err).toBe(0);
  return JSON.parse(result.out) as Described;
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'strait-describe-'));
  mesh = await startMesh({
    plan,
    stateDir,
    logDir: join(RepoRoot, '.tmp/test-logs/straitctl-describe'),
    prometheus: false,
    readyTimeoutMs: 90_000,
  });
  const res = await fetch(`${mesh.controlPlaneUrl}/v1/resources`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/yaml',
      authorization: `Bearer ${readFileSync(mesh.apiTokenFile, 'utf8').trim()}`,
    },
    body: ROUTES,
  });
  expect(res.status, await res.clone().text()).toBe(200);
  // Applied when the calling sidecar routes by header.
  await waitFor(
    'the header route to reach service-a-v1-1',
    async () =>
      (await fromPod(FROM, 'http://service-b/', { 'x-user': 'a' })).version === 'v2' ? true : undefined,
    30_000,
    200,
  );
}, 180_000);

afterAll(async () => {
  await mesh?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('straitctl describe request, against real requests on the demo mesh', () => {
  it('names the matching route and its cluster, where every real request then goes', async () => {
    const d = await describeJson('http://service-b/', 'x-user: a');
    expect(d.route?.name).toBe('service-b.user-a');
    expect(d.nearMisses).toEqual([]);
    expect(d.clusters.map((c) => [c.cluster, c.percent, c.state?.subset])).toEqual([
      ['outbound|80|v2|service-b', 100, 'v2'],
    ]);
    const real = await many(10, 'http://service-b/', { 'x-user': 'a' });
    expect(new Set(real.map((r) => `${r.status} ${r.version}`))).toEqual(new Set(['200 v2']));

    const text = await straitctl(
      'describe',
      'request',
      '--from',
      FROM,
      'http://service-b/',
      '-H',
      'x-user: a',
    );
    console.log(text.out);
    expect(text.out).toMatch(/Route:\s+service-b\.user-a/);
    expect(text.out).toMatch(
      /Cluster:\s+outbound\|80\|v2\|service-b \(service-b, subset v2\), weight 100 = 100%/,
    );
    expect(text.out).toMatch(/Policy:\s+authorization: none here; the destination's sidecar checks its own/);
  });

  it('lists a near miss and why it failed, then the route that matched, as the real requests show', async () => {
    const d = await describeJson('http://service-b/api/items', 'x-user: b');
    expect(d.nearMisses).toEqual([
      { route: 'service-b.user-a', reason: 'header x-user is "b", expected exact "a"' },
    ]);
    expect(d.route?.name).toBe('service-b.api');
    expect(d.clusters.map((c) => c.cluster)).toEqual(['outbound|80|v1|service-b']);
    const real = await many(10, 'http://service-b/api/items', { 'x-user': 'b' });
    expect(new Set(real.map((r) => `${r.status} ${r.version}`))).toEqual(new Set(['200 v1']));
  });

  it('says what happens when no route matches, and the real request gets exactly that', async () => {
    const d = await describeJson('http://service-b/other', 'x-user: b');
    expect(d.route).toBeUndefined();
    expect(d.nearMisses.map((m) => m.reason)).toEqual([
      'header x-user is "b", expected exact "a"',
      'path "/other" does not start with prefix "/api"',
    ]);
    const status = Number(d.outcome.split(' ')[0]);
    expect(status).toBeGreaterThanOrEqual(400);
    const real = await fromPod(FROM, 'http://service-b/other', { 'x-user': 'b' });
    expect(real.status, `${d.outcome} vs ${real.body}`).toBe(status);
  });

  it('shows an endpoint the caller took out after its app was killed; real requests avoid it', async () => {
    const dead = podAddress(plan, 'service-b-v1-1');
    const app = mesh.process('service-b-v1-1-app');
    app.signal('SIGKILL');
    await app.exited;
    // Traffic for outlier detection to see, until the caller's own admin says the endpoint is out.
    const admin = `http://${podAddress(plan, FROM)}:15000/clusters`;
    const taken = await waitFor(
      'service-a-v1-1 to take service-b-v1-1 out',
      async () => {
        await many(5, 'http://service-b/api');
        const clusters = (await (await fetch(admin)).json()) as {
          name: string;
          hosts: { address: string; healthy: boolean; ejected: boolean }[];
        }[];
        const host = clusters
          .find((c) => c.name === 'outbound|80|v1|service-b')
          ?.hosts.find((h) => h.address === dead);
        return host && !host.healthy ? host : undefined;
      },
      60_000,
      100,
    );
    const d = await describeJson('http://service-b/api');
    const v1 = d.clusters[0]?.state;
    expect(v1?.healthy).toBe(1);
    const health = v1?.endpoints.find((e) => e.address === dead)?.health;
    expect(health).toBe(taken.ejected ? 'EJECTED' : 'UNHEALTHY');
    expect(d.outcome).toMatch(/ROUND_ROBIN over the 1 healthy of 2/);
    const real = await many(20, 'http://service-b/api');
    expect(new Set(real.map((r) => `${r.status} ${r.pod}`))).toEqual(new Set(['200 service-b-v1-2']));

    const text = await straitctl('describe', 'request', '--from', FROM, 'http://service-b/api');
    console.log(text.out);
    expect(text.out).toMatch(new RegExp(`${dead.replaceAll('.', '\\.')}:15006\\s+(EJECTED until|UNHEALTHY)`));
    expect(text.out).toMatch(/none healthy:\s+panic mode/);

    // describe pod: the dead pod gets nothing from this caller now, its healthy twin all of the api route.
    const pod = await straitctl('describe', 'pod', 'service-b-v1-2', '-o', 'json');
    expect(pod.code, pod.err).toBe(0);
    const callers = (JSON.parse(pod.out) as { callers: { proxy: string; route: string; share: number }[] })
      .callers;
    expect(callers.find((c) => c.proxy === FROM && c.route === 'service-b.api')?.share).toBe(100);
    const deadPod = await straitctl('describe', 'pod', 'service-b-v1-1');
    expect(deadPod.out).toMatch(/service-a-v1-1 .*service-b\.api .* 0% \((EJECTED|UNHEALTHY)\)/);
  }, 120_000);

  it('answers a proxy it does not know with a suggestion', async () => {
    const result = await straitctl('describe', 'request', '--from', 'service-a-v1-3', 'http://service-b/');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/no proxy "service-a-v1-3"\. Did you mean "service-a-v1-1"\?/);
  });
});
