// Checks of the demo mesh that hold wherever it runs (local processes or containers): traffic through the
// ingress, the service-b split, losing a pod under traffic, Prometheus scraping every dashboard query.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { startTraffic, type TrafficResult } from '../../packages/demo/src/apps/traffic.ts';
import { expressionsOf } from '../../packages/demo/src/dashboards/grafana.ts';
import { proxyStatuses, RepoRoot, waitForSync } from '../../packages/demo/src/launcher/mesh.ts';
import { waitUntil } from '../../packages/demo/src/launcher/wait.ts';
import { proxyIds } from '../../packages/demo/src/topology.ts';

/** What the demo's front door answers: each app names itself, the Via it received and its upstream's answer. */
export interface ChainAnswer {
  service: string;
  version: string;
  pod: string;
  via: string[];
  upstream: ChainAnswer & { upstream?: unknown };
}

/** Sends `count` requests to `target` (bounded rate and concurrency) and returns every result. */
export async function send(target: string, count: number, rate = 80): Promise<TrafficResult[]> {
  const results: TrafficResult[] = [];
  const traffic = startTraffic(
    {
      target,
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

/** The share of 200 answers that service-b `version` served, and how many answers were not 200. */
export function versionShare(results: TrafficResult[], version: string): { share: number; failed: number } {
  const ok = results.filter((r) => r.status === 200);
  const hits = ok.filter((r) => (r.body as ChainAnswer).upstream?.version === version).length;
  return { share: hits / Math.max(ok.length, 1), failed: results.length - ok.length };
}

/** Sends 400 requests through `ingressUrl`: none fails, and service-b v2 serves `share` ± `tolerance` of them. */
export async function expectSplit(ingressUrl: string, share: number, tolerance: number): Promise<void> {
  const measured = versionShare(await send(ingressUrl, 400), 'v2');
  expect(measured.failed).toBe(0);
  expect(measured.share).toBeGreaterThanOrEqual(share - tolerance);
  expect(measured.share).toBeLessThanOrEqual(share + tolerance);
}

/**
 * Applies packages/demo/mesh/canary.yaml (`apply`), waits until the service-a sidecars, which carry the split,
 * ACK a new version and every proxy is in sync, then expects service-b's split at 50/50 (0.5 ± 0.1 over 400).
 */
export async function expectCanaryApplied(
  controlPlaneUrl: string,
  ingressUrl: string,
  apply: () => Promise<void>,
): Promise<void> {
  const before = new Map((await proxyStatuses(controlPlaneUrl)).map((p) => [p.id, p.ackedVersion]));
  await apply();
  await waitUntil(
    async () => {
      const now = await proxyStatuses(controlPlaneUrl);
      const moved = ['service-a-v1-1', 'service-a-v1-2'].every((id) => {
        const p = now.find((s) => s.id === id);
        return p?.status === 'SYNCED' && p.ackedVersion !== before.get(id);
      });
      return moved ? true : undefined;
    },
    30_000,
    () => 'the service-a sidecars did not ACK the canary config',
  );
  await waitForSync(controlPlaneUrl, proxyIds(), 30_000);
  await expectSplit(ingressUrl, 0.5, 0.1);
}

/**
 * Kills service-b-v1-1's app (`kill`) under traffic through `ingressUrl`: it is taken out once both service-a
 * sidecars (their /stats/prometheus as `statsOf` reads it) count one healthy endpoint left in service-b's v1
 * subset; at most 30 requests fail, then none, and service-b-v1-2 serves v1 alone.
 */
export async function expectServiceBV1Loss(
  ingressUrl: string,
  kill: () => Promise<void>,
  statsOf: (pod: string) => Promise<string>,
): Promise<void> {
  const after = await killUnderTraffic(ingressUrl, 'service-b-v1-1-app', kill, async () => {
    const healthy = await Promise.all(
      ['service-a-v1-1', 'service-a-v1-2'].map(async (pod) =>
        metricValue(
          await statsOf(pod),
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
}

/**
 * Kills one app (`kill`) under steady traffic to `target`, waits until `takenOut()` holds and then until the
 * last 60 answers (about 3 s) are all 200. Returns the failures counted from the kill on, and those last answers.
 */
export async function killUnderTraffic(
  target: string,
  what: string,
  kill: () => Promise<void>,
  takenOut: () => Promise<boolean>,
): Promise<{ failures: number; lastOnes: TrafficResult[] }> {
  const log: { at: number; result: TrafficResult }[] = [];
  const traffic = startTraffic(
    {
      target,
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
    const killedAt = Date.now();
    await kill();
    await waitUntil(
      async () => ((await takenOut()) ? true : undefined),
      30_000,
      () => `${what}'s pod was not taken out of rotation`,
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
        return `failures did not stop after ${what} was killed (${failures} so far)`;
      },
      500,
    );
    await traffic.stop();
    const after = log.filter((e) => e.at >= killedAt);
    const failures = after.filter((e) => e.result.status !== 200).length;
    console.info(
      `${what} killed: ${failures} failed of ${after.length}; out after ${tookOutAt - killedAt} ms`,
    );
    return { failures, lastOnes: after.slice(-60).map((e) => e.result) };
  } finally {
    await traffic.stop();
  }
}

/** The value of one series of `metric` (picked by a label text such as `cluster="x"`) in an exposition. */
export function metricValue(exposition: string, metric: string, label: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(label));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/**
 * With steady traffic through `ingressUrl`: Prometheus at `prometheusUrl` finds `expectedTargets` targets through
 * the control plane's HTTP service discovery, all up, and every shipped dashboard query returns data.
 */
export async function expectDashboardsServed(
  prometheusUrl: string,
  ingressUrl: string,
  expectedTargets: number,
): Promise<void> {
  const traffic = startTraffic({
    target: ingressUrl,
    rate: 10,
    maxInFlight: 10,
    maxRequests: 0,
    durationMs: 0,
    timeoutMs: 10_000,
    reportEverySeconds: 0,
  });
  try {
    let seen = '';
    await waitUntil(
      async () => {
        const res = await fetch(`${prometheusUrl}/api/v1/targets?state=active`);
        const body = (await res.json()) as {
          data: { activeTargets: { health: string; scrapeUrl: string }[] };
        };
        const targets = body.data.activeTargets;
        seen = targets.map((t) => `${t.scrapeUrl} ${t.health}`).join(', ');
        return targets.length === expectedTargets && targets.every((t) => t.health === 'up')
          ? true
          : undefined;
      },
      60_000,
      () =>
        `Prometheus did not find ${expectedTargets} healthy targets through the control plane (saw: ${seen || 'none'})`,
    );

    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    // Istio's panels draw each inbound query for mTLS and for plaintext; the demo runs mesh-wide STRICT, so the
    // mTLS half must return data and the plaintext half must show no request at all.
    const plaintext = queries.filter((q) => q.expr.includes(PLAINTEXT_FILTER));
    const missing = await withoutData(
      prometheusUrl,
      queries.filter((q) => !plaintext.includes(q)).map((q) => ({ what: q.where, expr: q.expr })),
      90_000,
    );
    expect(missing, 'dashboard queries without data').toEqual([]);
    for (const q of plaintext) {
      const values = await sampleValues(prometheusUrl, q.expr);
      expect(
        values.filter((v) => v !== 0 && !Number.isNaN(v)),
        `${q.where}: ${q.expr}`,
      ).toEqual([]);
    }
  } finally {
    await traffic.stop();
  }
}

/** The label filter of the plaintext half of Istio's mTLS panels. */
const PLAINTEXT_FILTER = 'connection_security_policy!="mutual_tls"';

/** The values of an instant query's series (empty when it has none). */
async function sampleValues(prometheus: string, expr: string): Promise<number[]> {
  const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data?: { result: { value: [number, string] }[] } };
  expect(body.status, expr).toBe('success');
  return (body.data?.result ?? []).map((r) => Number(r.value[1]));
}

/**
 * Asks Prometheus each expression until every one returns data or the time is up; returns those still
 * without data. An expression Prometheus cannot run fails the test at once.
 */
export async function withoutData(
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

/** Every PromQL expression in the shipped dashboards, with Grafana's variables filled in. */
export function dashboardQueries(): { where: string; expr: string }[] {
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
