// The demo mesh end to end, started by the same launcher as `npm start` but on test addresses
// (127.0.105.x … 127.0.109.x): the chain, the 90/10 split, the canary, egress denial, Prometheus
// scraping every shipped dashboard's queries, the control plane killed, service-b v1's app killed.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTraffic, type TrafficResult } from '../packages/demo/src/apps/traffic.ts';
import { expressionsOf } from '../packages/demo/src/dashboards/grafana.ts';
import { IstioPilotQueries } from '../packages/demo/src/dashboards/istio-pilot-queries.ts';
import {
  type Mesh,
  proxyStatuses,
  RepoRoot,
  startMesh,
  waitForSync,
} from '../packages/demo/src/launcher/mesh.ts';
import { findPrometheus } from '../packages/demo/src/launcher/prometheus.ts';
import { waitUntil } from '../packages/demo/src/launcher/wait.ts';
import { offsetPlan, podAddress, proxyIds } from '../packages/demo/src/topology.ts';

const plan = offsetPlan(105);
const requirePrometheus = process.env.CI === 'true';
const havePrometheus = findPrometheus() !== undefined;
if (!havePrometheus && !requirePrometheus) {
  console.warn(
    'demo-mesh: prometheus not installed, the dashboard test is skipped (apt-get install prometheus)',
  );
}

interface ChainAnswer {
  service: string;
  version: string;
  pod: string;
  via: string[];
  upstream: ChainAnswer & { upstream?: unknown };
}

let mesh: Mesh;
let stateDir: string;

/** Sends `count` requests through the ingress (bounded rate and concurrency) and returns every result. */
async function send(count: number, rate = 80): Promise<TrafficResult[]> {
  const results: TrafficResult[] = [];
  const traffic = startTraffic(
    {
      target: mesh.ingressUrl,
      rate,
      maxInFlight: 8,
      maxRequests: count,
      durationMs: 120_000,
      timeoutMs: 15_000,
      reportEverySeconds: 0,
    },
    (r) => results.push(r),
  );
  await traffic.done;
  return results;
}

function versionShare(results: TrafficResult[], version: string): { share: number; failed: number } {
  const ok = results.filter((r) => r.status === 200);
  const hits = ok.filter((r) => (r.body as ChainAnswer).upstream?.version === version).length;
  return { share: hits / Math.max(ok.length, 1), failed: results.length - ok.length };
}

/** A request in absolute form through a sidecar's outbound listener, as `curl -x` sends it. */
function viaSidecar(podId: string, url: string): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: podAddress(plan, podId), port: 15001, path: url, headers: { host: target.host } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Sum of every sample of `metric` on one proxy's /stats/prometheus. */
async function metricSum(address: string, metric: string): Promise<number> {
  const text = await (await fetch(`http://${address}:15090/stats/prometheus`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${metric}{`) || line.startsWith(`${metric} `)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** The value of one series of `metric` (picked by a label text such as `cluster="x"`) on one proxy. */
async function metricValue(address: string, metric: string, label: string): Promise<number | undefined> {
  const text = await (await fetch(`http://${address}:15090/stats/prometheus`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(label));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/**
 * Kills one app (SIGKILL) under steady traffic, waits until `takenOut()` holds and then until the last
 * 60 answers (about 3 s) are all 200. Returns the failures counted from the kill on, and those last answers.
 */
async function killUnderTraffic(
  processName: string,
  takenOut: () => Promise<boolean>,
): Promise<{ failures: number; lastOnes: TrafficResult[] }> {
  const log: { at: number; result: TrafficResult }[] = [];
  const traffic = startTraffic(
    {
      target: mesh.ingressUrl,
      rate: 20,
      maxInFlight: 20,
      maxRequests: 0,
      durationMs: 0,
      timeoutMs: 15_000,
      reportEverySeconds: 0,
    },
    (result) => log.push({ at: Date.now(), result }),
  );
  try {
    await sleep(1500);
    const app = mesh.process(processName);
    const killedAt = Date.now();
    app.signal('SIGKILL');
    await app.exited;
    await waitUntil(
      async () => ((await takenOut()) ? true : undefined),
      30_000,
      () => `${processName}'s pod was not taken out of rotation`,
      500,
    );
    const tookOutAt = Date.now();
    await waitUntil(
      async () => {
        const recent = log.filter((e) => e.at > tookOutAt).slice(-60);
        return recent.length === 60 && recent.every((e) => e.result.status === 200) ? true : undefined;
      },
      45_000,
      () => {
        const failures = log.filter((e) => e.at > killedAt && e.result.status !== 200).length;
        return `failures did not stop after ${processName} was killed (${failures} so far)`;
      },
      500,
    );
    await traffic.stop();
    const after = log.filter((e) => e.at >= killedAt);
    const failed = after.filter((e) => e.result.status !== 200).length;
    console.info(
      `${processName} killed: ${failed} failed of ${after.length}; out after ${tookOutAt - killedAt} ms`,
    );
    return {
      failures: after.filter((e) => e.result.status !== 200).length,
      lastOnes: after.slice(-60).map((e) => e.result),
    };
  } finally {
    await traffic.stop();
  }
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'strait-demo-'));
  mesh = await startMesh({
    plan,
    stateDir,
    // Kept after the run (in the git-ignored .tmp/) so a failure can be read.
    logDir: join(RepoRoot, '.tmp/test-logs/demo-mesh'),
    prometheus: requirePrometheus ? true : 'auto',
    scrapeIntervalSeconds: 1,
    readyTimeoutMs: 90_000,
  });
}, 180_000);

afterAll(async () => {
  await mesh?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('the demo mesh (npm start’s launcher on test addresses)', () => {
  it('answers through the whole chain: ingress → service-a → service-b → egress → external API', async () => {
    const res = await fetch(mesh.ingressUrl);
    expect(res.status).toBe(200);
    const body = (await res.json()) as ChainAnswer;
    expect(body.service).toBe('service-a');
    expect(['service-a-v1-1', 'service-a-v1-2']).toContain(body.pod);
    expect(body.via.join(' ')).toMatch(/istio-ingressgateway/);
    expect(body.upstream.service).toBe('service-b');
    expect(['v1', 'v2']).toContain(body.upstream.version);
    expect(body.upstream.via.length).toBeGreaterThanOrEqual(1);
    expect(body.upstream.upstream).toMatchObject({ service: 'external-api', host: 'api.partner.example' });

    // The ingress balances between both service-a pods.
    const pods = new Set((await send(20)).map((r) => (r.body as ChainAnswer).pod));
    expect([...pods].sort()).toEqual(['service-a-v1-1', 'service-a-v1-2']);
  }, 60_000);

  it('splits service-b 90/10 between v1 and v2 (v2 share 0.10 ± 0.05 over 400 requests)', async () => {
    const results = await send(400);
    const { share, failed } = versionShare(results, 'v2');
    expect(failed).toBe(0);
    expect(share).toBeGreaterThanOrEqual(0.05);
    expect(share).toBeLessThanOrEqual(0.15);
  }, 120_000);

  it('refuses an unlisted external host with 403 and counts the denial', async () => {
    const b1 = podAddress(plan, 'service-b-v1-1');
    const before = await metricSum(b1, 'strait_egress_denied_total');
    const res = await viaSidecar('service-b-v1-1', 'http://example.org/');
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/example\.org/);
    const after = await metricSum(b1, 'strait_egress_denied_total');
    expect(after).toBeGreaterThan(before);
  }, 30_000);

  it.skipIf(!havePrometheus && !requirePrometheus)(
    `Prometheus scrapes the mesh through the control plane and every dashboard query returns data${
      havePrometheus || requirePrometheus ? '' : ' (skipped: apt-get install prometheus)'
    }`,
    async () => {
      const prometheus = mesh.prometheusUrl as string;
      expect(prometheus).toBeDefined();
      const traffic = startTraffic({
        target: mesh.ingressUrl,
        rate: 10,
        maxInFlight: 10,
        maxRequests: 0,
        durationMs: 0,
        timeoutMs: 10_000,
        reportEverySeconds: 0,
      });
      try {
        // Every proxy and the control plane, found through HTTP service discovery, scraped and up.
        const expectedTargets = proxyIds().length + 1;
        await waitUntil(
          async () => {
            const res = await fetch(`${prometheus}/api/v1/targets?state=active`);
            const body = (await res.json()) as { data: { activeTargets: { health: string }[] } };
            const targets = body.data.activeTargets;
            return targets.length === expectedTargets && targets.every((t) => t.health === 'up')
              ? true
              : undefined;
          },
          60_000,
          () => `Prometheus did not find ${expectedTargets} healthy targets through the control plane`,
        );

        const queries = dashboardQueries();
        expect(queries.length).toBeGreaterThan(20);
        const missing = await withoutData(
          prometheus,
          queries.map((q) => ({ what: q.where, expr: q.expr })),
          90_000,
        );
        expect(missing, 'dashboard queries without data').toEqual([]);
      } finally {
        await traffic.stop();
      }
    },
    240_000,
  );

  it('moves service-b to 50/50 when canary.yaml is applied (v2 share 0.5 ± 0.1 over 400 requests)', async () => {
    const before = new Map((await proxyStatuses(mesh.controlPlaneUrl)).map((p) => [p.id, p.ackedVersion]));
    const res = await fetch(`${mesh.controlPlaneUrl}/v1/resources`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml' },
      body: readFileSync(join(RepoRoot, 'packages/demo/mesh/canary.yaml'), 'utf8'),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    // The service-a sidecars carry the split; wait until they ACK a new version.
    await waitUntil(
      async () => {
        const now = await proxyStatuses(mesh.controlPlaneUrl);
        const moved = ['service-a-v1-1', 'service-a-v1-2'].every((id) => {
          const p = now.find((s) => s.id === id);
          return p?.status === 'SYNCED' && p.ackedVersion !== before.get(id);
        });
        return moved ? true : undefined;
      },
      30_000,
      () => 'the service-a sidecars did not ACK the canary config',
    );
    await waitForSync(mesh.controlPlaneUrl, proxyIds(), 30_000);
    const { share, failed } = versionShare(await send(400), 'v2');
    expect(failed).toBe(0);
    expect(share).toBeGreaterThanOrEqual(0.4);
    expect(share).toBeLessThanOrEqual(0.6);
  }, 120_000);

  it.skipIf(!havePrometheus && !requirePrometheus)(
    `answers every expression of Istio's pilot dashboard but those naming Go, Kubernetes, containers or injection${
      havePrometheus || requirePrometheus ? '' : ' (skipped: apt-get install prometheus)'
    }`,
    async () => {
      // After demo traffic and the canary change of the test before.
      const prometheus = mesh.prometheusUrl as string;
      const answered = IstioPilotQueries.filter((q) => !q.outOfScope);
      const missing = await withoutData(
        prometheus,
        answered.map((q) => ({ what: q.panel, expr: q.expr })),
        60_000,
      );
      expect(missing, 'Istio pilot dashboard expressions without data').toEqual([]);
    },
    90_000,
  );

  it('keeps traffic flowing when the control plane is killed', async () => {
    const cp = mesh.process('control-plane');
    cp.signal('SIGKILL');
    await cp.exited;
    const results = await send(100, 25);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(results).toHaveLength(100);
  }, 60_000);

  it('takes a killed service-b v1 pod out under traffic: at most 30 failures, then none', async () => {
    const after = await killUnderTraffic('service-b-v1-1-app', async () => {
      // Taken out: every service-a sidecar counts one healthy endpoint left in service-b's v1 subset.
      const healthy = await Promise.all(
        ['service-a-v1-1', 'service-a-v1-2'].map((id) =>
          metricValue(
            podAddress(plan, id),
            'strait_cluster_healthy_endpoints',
            'cluster="outbound|80|v1|service-b"',
          ),
        ),
      );
      return healthy.every((n) => n === 1);
    });
    expect(after.failures).toBeLessThanOrEqual(30);
    const podsOfB = new Set(after.lastOnes.map((r) => (r.body as ChainAnswer).upstream?.pod));
    expect(podsOfB.has('service-b-v1-2')).toBe(true);
    expect(podsOfB.has('service-b-v1-1')).toBe(false);
  }, 120_000);

  it('takes a killed service-a pod out at the ingress: at most 30 failures, then none', async () => {
    const after = await killUnderTraffic('service-a-v1-1-app', async () => {
      const healthy = await metricValue(
        plan.ingress,
        'strait_cluster_healthy_endpoints',
        'cluster="outbound|80||service-a"',
      );
      return healthy === 1;
    });
    expect(after.failures).toBeLessThanOrEqual(30);
    expect(new Set(after.lastOnes.map((r) => (r.body as ChainAnswer).pod))).toEqual(
      new Set(['service-a-v1-2']),
    );
  }, 120_000);
});

/** Every PromQL expression in the shipped dashboards, with Grafana's variables filled in. */
function dashboardQueries(): { where: string; expr: string }[] {
  const dir = join(RepoRoot, 'docker/grafana/dashboards');
  const out: { where: string; expr: string }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
    const variables = ((dashboard.templating as { list?: Record<string, unknown>[] })?.list ?? []).map(
      (v) => ({
        name: String(v.name),
        value: String((v.current as { value?: string })?.value ?? ''),
        query: String(v.definition ?? ''),
      }),
    );
    const fill = (expr: string) => {
      let e = expr
        .replaceAll('$__rate_interval', '30s')
        .replaceAll('$__interval', '5s')
        .replaceAll('$__range', '5m');
      for (const v of [...variables].sort((a, b) => b.name.length - a.name.length)) {
        e = e.replaceAll(`\${${v.name}}`, v.value).replaceAll(`$${v.name}`, v.value);
      }
      return e;
    };
    for (const v of variables) {
      const m = /^label_values\((.*),\s*([A-Za-z_]\w*)\s*\)$/.exec(v.query);
      if (!m) throw new Error(`${file}: variable ${v.name} has a query the test cannot read: ${v.query}`);
      out.push({ where: `${file} variable ${v.name}`, expr: fill(`group by (${m[2]}) (${m[1]})`) });
    }
    for (const q of expressionsOf(dashboard)) out.push({ where: `${file} "${q.title}"`, expr: fill(q.expr) });
  }
  for (const q of out) expect(q.expr, q.where).not.toMatch(/\$/);
  return out;
}

/**
 * Asks Prometheus each expression until every one returns data or the time is up; returns those still
 * without data. An expression Prometheus cannot run fails the test at once.
 */
async function withoutData(
  prometheus: string,
  queries: { what: string; expr: string }[],
  timeoutMs: number,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing: string[] = [];
    for (const q of queries) {
      const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(q.expr)}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
      expect(body.status, `${q.what}: ${q.expr}: ${body.error ?? ''}`).toBe('success');
      if ((body.data?.result.length ?? 0) === 0) missing.push(`${q.what}: ${q.expr}`);
    }
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await sleep(2000);
  }
}
