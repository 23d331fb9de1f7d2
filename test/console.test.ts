// The mesh console in real headless Chromium (Debian's chromium, driven by playwright-core), on a real
// mesh: the launcher on 127.0.150.x … 127.0.154.x (with a real Prometheus for the --prometheus path),
// plus a bare control plane on 127.0.155.1 for the empty states. Every test leaves a screenshot in
// .tmp/test-output/console/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsoleState } from '@strait/api';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../packages/console/src/build.ts';
import { buildGraph } from '../packages/control-plane/src/console/graph.ts';
import { PrometheusReader } from '../packages/control-plane/src/console/prometheus-reader.ts';
import { ControlPlane } from '../packages/control-plane/src/control-plane.ts';
import { FakeProxy } from '../packages/control-plane/src/testing/fake-proxy.ts';
import { startTraffic } from '../packages/demo/src/apps/traffic.ts';
import {
  ChromiumHint,
  type ConsoleBrowser,
  haveChromium,
  launchChromium,
} from '../packages/demo/src/browser.ts';
import { type Mesh, RepoRoot, startMesh } from '../packages/demo/src/launcher/mesh.ts';
import { ManagedProcess } from '../packages/demo/src/launcher/processes.ts';
import { findPrometheus, preparePrometheus } from '../packages/demo/src/launcher/prometheus.ts';
import { waitUntil } from '../packages/demo/src/launcher/wait.ts';
import { offsetPlan, podAddress } from '../packages/demo/src/topology.ts';
import { traceOf } from './support/chain-trace.ts';

const plan = offsetPlan(150);
const inCi = process.env.CI === 'true';
const runs = inCi || haveChromium();
if (!runs)
  console.warn(`console: Chromium is not installed, the browser tests are skipped (${ChromiumHint})`);
const outDir = join(RepoRoot, '.tmp/test-output/console');

let browser: ConsoleBrowser;
let page: Page;
/** Console errors and uncaught exceptions of the page, with the test that was running. */
const pageErrors: { test: string; text: string }[] = [];
let currentTest = '';

function watch(p: Page): void {
  p.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push({ test: currentTest, text: m.text() });
  });
  p.on('pageerror', (e) => pageErrors.push({ test: currentTest, text: e.message }));
}

async function screenshot(name: string): Promise<void> {
  const file = name
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase()
    .slice(0, 80);
  await page.screenshot({ path: join(outDir, `${file}.png`) });
}

/** Polls the page until `probe` gives a value; the message says what was last seen. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  let last: unknown;
  return waitUntil(
    async () => {
      try {
        return await probe();
      } catch (err) {
        last = err;
        return undefined;
      }
    },
    timeoutMs,
    () => `${what}${last ? ` (last: ${String(last)})` : ''}`,
    250,
  );
}

/** The little of the DOM the waterfall test reads (the test itself is compiled without DOM types). */
interface WaterfallItem {
  dataset: Record<string, string | undefined>;
  querySelector(selector: string): WaterfallItem | null;
  getBoundingClientRect(): { left: number; right: number };
}

const consoleState = (): Promise<ConsoleState | undefined> =>
  page.evaluate(() =>
    (globalThis as unknown as { straitConsole: { state(): ConsoleState | undefined } }).straitConsole.state(),
  );

beforeAll(async () => {
  if (!runs) return;
  mkdirSync(outDir, { recursive: true });
  await buildConsole();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(async (ctx) => {
  if (page && !page.isClosed()) await screenshot(ctx.task.name);
});

describe.skipIf(!runs)('the console on a real mesh', () => {
  let mesh: Mesh;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'strait-console-'));
    mesh = await startMesh({
      plan,
      stateDir,
      logDir: join(RepoRoot, '.tmp/test-logs/console'),
      // The console reads the proxies itself here; the Prometheus path has its own test below.
      prometheus: false,
      readyTimeoutMs: 90_000,
    });
    page = await browser.context.newPage();
    watch(page);
    await page.goto(mesh.consoleUrl);
  }, 180_000);

  afterAll(async () => {
    await page?.close();
    await mesh?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('draws every gateway, service version and external host, and an edge’s rps rises under traffic', async () => {
    currentTest = 'graph';
    const expected = [
      'workload:istio-ingressgateway',
      'workload:service-a-v1',
      'workload:service-b-v1',
      'workload:service-b-v2',
      'workload:istio-egressgateway',
      'external:api.partner.example',
    ];
    const drawn = () =>
      page.evaluate(() => {
        const cy = (
          globalThis as unknown as { straitConsole: { graph(): import('cytoscape').Core | undefined } }
        ).straitConsole.graph();
        return cy
          ? { nodes: cy.nodes().map((n) => n.id()), edges: cy.edges().map((e) => e.id()) }
          : undefined;
      });
    await until('the graph to show every node', async () => {
      const g = await drawn();
      return g && expected.every((id) => g.nodes.includes(id)) ? g : undefined;
    });
    const edge = 'workload:istio-ingressgateway->workload:service-a-v1';
    const rpsCell = page.locator(`table.edges tr[data-key="${edge}"] td:nth-child(2)`);
    const rps = async () => Number(await rpsCell.textContent());
    const before = await until('the ingress → service-a edge', async () =>
      (await rpsCell.count()) > 0 ? rps() : undefined,
    );
    const traffic = startTraffic({
      target: mesh.ingressUrl,
      rate: 20,
      maxInFlight: 8,
      maxRequests: 0,
      durationMs: 40_000,
      timeoutMs: 10_000,
      reportEverySeconds: 0,
    });
    const chainEdges = [
      edge,
      'workload:service-a-v1->workload:service-b-v1',
      'workload:service-a-v1->workload:service-b-v2',
      'workload:service-b-v1->workload:istio-egressgateway',
      'workload:istio-egressgateway->external:api.partner.example',
    ];
    try {
      const during = await until('the edge’s rps to rise while the traffic runs', async () => {
        const now = await rps();
        return now >= before + 5 && now >= 8 ? now : undefined;
      });
      expect(during).toBeGreaterThan(before);
      // Each hop's edge appears once that hop's proxy has been read with traffic on it, which need not
      // be the same refresh that raised the ingress edge; so wait for the whole chain while traffic runs.
      const g = await until('every edge of the chain', async () => {
        const now = await drawn();
        return now && chainEdges.every((e) => now.edges.includes(e)) ? now : undefined;
      });
      for (const e of chainEdges) expect(g.edges).toContain(e);
    } finally {
      await traffic.stop();
    }
    await expect.poll(() => page.locator('.graph-overlay').isHidden()).toBe(true);
  }, 90_000);

  it('redraws the traffic split when canary.yaml is applied', async () => {
    currentTest = 'split';
    await page.goto(`${mesh.consoleUrl}#/config`);
    const share = (destination: string) =>
      page
        .locator(`[data-split="default/service-b/split"] .segment[data-destination="${destination}"]`)
        .getAttribute('data-share');
    await until('the 90/10 split', async () => ((await share('service-b v2')) === '10' ? true : undefined));
    const res = await fetch(`${mesh.controlPlaneUrl}/v1/resources`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/yaml',
        'x-strait-source': 'canary.yaml',
        authorization: `Bearer ${readFileSync(mesh.apiTokenFile, 'utf8').trim()}`,
      },
      body: readFileSync(join(RepoRoot, 'packages/demo/mesh/canary.yaml'), 'utf8'),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    await until('the drawn split to become 50/50', async () =>
      (await share('service-b v2')) === '50' && (await share('service-b v1')) === '50' ? true : undefined,
    );
    await expect
      .poll(() => page.locator('[aria-labelledby="config-title"] .summary').textContent())
      .toMatch(/Revision 2/);
  }, 60_000);

  it('shows a refused apply with its file, field and reason, and the revision that kept serving', async () => {
    currentTest = 'refused';
    await page.goto(`${mesh.consoleUrl}#/config`);
    const bad = readFileSync(join(RepoRoot, 'packages/demo/mesh/canary.yaml'), 'utf8').replace(
      'weight: 50\n',
      'weight: 150\n',
    );
    const res = await fetch(`${mesh.controlPlaneUrl}/v1/resources`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/yaml',
        'x-strait-source': 'canary-typo.yaml',
        authorization: `Bearer ${readFileSync(mesh.apiTokenFile, 'utf8').trim()}`,
      },
      body: bad,
    });
    expect(res.status).toBe(400);
    const rejection = page.locator('.rejection').first();
    await until('the refusal on the page', async () => ((await rejection.count()) > 0 ? true : undefined));
    const text = (await rejection.textContent()) ?? '';
    expect(text).toContain('canary-typo.yaml: document 1 (VirtualService service-b)');
    expect(text).toContain('spec.http[0].route[0].weight');
    expect(text).toMatch(/100/);
    expect(text).toContain('STRAIT_CONFIG_INVALID');
    expect(text).toMatch(/revision 2 kept serving/);
    // What was serving is still drawn.
    expect(await page.locator('[data-split="default/service-b/split"] .segment').count()).toBe(2);
  }, 30_000);

  it('lists a denied egress request by host and reason, and draws the denied destination', async () => {
    currentTest = 'egress';
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: podAddress(plan, 'service-b-v1-1'),
          port: 15001,
          path: 'http://example.org/',
          headers: { host: 'example.org' },
        },
        (r) => {
          r.resume();
          r.on('end', () => resolve(r.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
    await page.goto(`${mesh.consoleUrl}#/egress`);
    const row = page.locator('tr.denied-row', { hasText: 'example.org' });
    await until('the denied request in the egress table', async () =>
      (await row.count()) > 0 ? true : undefined,
    );
    const cells = await row.first().locator('td').allTextContents();
    expect(cells.slice(0, 4)).toEqual([
      'example.org',
      'denied',
      'host_not_allowed',
      'service-b-v1-1 (service-b-v1)',
    ]);
    expect(
      await page.locator('tr:not(.denied-row)', { hasText: 'api.partner.example' }).count(),
    ).toBeGreaterThan(0);
    const state = await consoleState();
    expect(state?.graph.nodes.map((n) => n.id)).toContain('denied:example.org');
  }, 30_000);

  it('works by keyboard: pages from the header, edges from the table', async () => {
    currentTest = 'keyboard';
    await page.goto(`${mesh.consoleUrl}#/graph`);
    await page.locator('body').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Proxies');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate('location.hash')).toBe('#/proxies');
    // The hash changes first; the page renders on the event that follows it.
    await expect.poll(() => page.locator('#proxies-title').isVisible()).toBe(true);
    await page.goto(`${mesh.consoleUrl}#/graph`);
    const button = page.locator('table.edges button').first();
    await button.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.detail h2').textContent()).toContain('→');
  }, 30_000);

  it('draws a trace as a waterfall, each span on its hop, children inside their parents', async () => {
    currentTest = 'traces';
    const requestId = `console-trace-${Date.now()}`;
    const res = await fetch(mesh.ingressUrl, { headers: { 'x-request-id': requestId } });
    expect(res.status).toBe(200);
    await res.text();
    // Once every proxy has exported its spans (about once a second), the trace is listed; open it from there.
    const { traceId } = await traceOf(mesh.controlPlaneUrl, requestId, 12);
    await page.goto(`${mesh.consoleUrl}#/traces`);
    await page.locator('#trace-service').fill('istio-egressgateway');
    const row = page.locator('tbody tr', { has: page.locator(`a[href="#/traces/${traceId}"]`) });
    await until('the trace in the list', async () => ((await row.count()) > 0 ? true : undefined));
    expect(await row.locator('td').nth(3).textContent()).toBe('12');
    await row.locator('a').click();
    await expect.poll(() => page.evaluate('location.hash')).toBe(`#/traces/${traceId}`);
    const rows = page.locator('ol.waterfall > li');
    await until('the waterfall', async () => ((await rows.count()) === 12 ? true : undefined));
    const drawn = await rows.evaluateAll((lis) =>
      (lis as unknown as WaterfallItem[]).map((li) => {
        const b = (li.querySelector('.wf-bar') as WaterfallItem).getBoundingClientRect();
        const t = (li.querySelector('.wf-track') as WaterfallItem).getBoundingClientRect();
        return {
          span: li.dataset.span ?? '',
          parent: li.dataset.parent ?? '',
          service: li.dataset.service ?? '',
          kind: li.dataset.kind ?? '',
          left: b.left - t.left,
          right: b.right - t.left,
          label: (li.querySelector('.wf-label') as WaterfallItem).getBoundingClientRect().left,
        };
      }),
    );
    // Every hop is there, with its server span and its client span(s), in the order the request crossed them.
    expect(drawn.map((d) => `${d.service}:${d.kind}`)).toEqual([
      'istio-ingressgateway:server',
      'istio-ingressgateway:client',
      'service-a:server',
      'service-a:client',
      'service-a:server',
      'service-a:client',
      'service-b:server',
      'service-b:client',
      'service-b:server',
      'service-b:client',
      'istio-egressgateway:server',
      'istio-egressgateway:client',
    ]);
    const byId = new Map(drawn.map((d) => [d.span, d]));
    for (const d of drawn.slice(1)) {
      const parent = byId.get(d.parent);
      expect(parent, `${d.service} ${d.kind} has its parent drawn`).toBeDefined();
      const p = parent as (typeof drawn)[number];
      // Indented under its parent, and its bar inside the parent's (a pixel of rounding allowed).
      expect(d.label).toBeGreaterThanOrEqual(p.label);
      expect(d.left).toBeGreaterThanOrEqual(p.left - 1);
      expect(d.right).toBeLessThanOrEqual(p.right + 1);
    }
    // A span opens to show Envoy's tags, the request id among them.
    await rows.first().locator('summary').click();
    await expect.poll(() => rows.first().locator('.wf-attrs').textContent()).toContain(requestId);
  }, 60_000);

  it.skipIf(!inCi && !findPrometheus())(
    `reads the same edges from a real Prometheus (--prometheus)${inCi || findPrometheus() ? '' : ' (skipped: apt-get install prometheus)'}`,
    async () => {
      currentTest = 'prometheus';
      const binary = findPrometheus();
      if (!binary) throw new Error('prometheus is not installed (apt-get install prometheus)');
      const listen = `${plan.prometheus}:9090`;
      const args = preparePrometheus(join(stateDir, 'prometheus'), listen, {
        monitoringUrl: mesh.monitoringUrl,
        scrapeIntervalSeconds: 1,
      });
      const prometheus = new ManagedProcess({ name: 'prometheus', command: binary, args }, mesh.logDir);
      mesh.processes.set('prometheus', prometheus);
      const reader = new PrometheusReader({ url: `http://${listen}`, windowSeconds: 30 });
      const traffic = startTraffic({
        target: mesh.ingressUrl,
        rate: 10,
        maxInFlight: 8,
        maxRequests: 0,
        durationMs: 60_000,
        timeoutMs: 10_000,
        reportEverySeconds: 0,
      });
      try {
        const graph = await until(
          'Prometheus to give the ingress → service-a edge',
          async () => {
            const reading = await reader.read();
            const g = buildGraph({ reading, proxies: [], resources: [] });
            const edge = g.edges.find((e) => e.id === 'workload:istio-ingressgateway->workload:service-a-v1');
            return edge && edge.rps > 1 && reading.healthyEndpoints.length > 0 ? g : undefined;
          },
          60_000,
        );
        expect(graph.edges.map((e) => e.id)).toContain('workload:service-a-v1->workload:service-b-v1');
        expect(graph.edges.find((e) => e.target === 'denied:example.org')).toBeDefined();
        expect(reader.describe()).toBe(`queried from Prometheus at http://${listen}`);
      } finally {
        await traffic.stop();
        await prometheus.stop();
      }
    },
    90_000,
  );

  it('has logged no console error so far', () => {
    expect(pageErrors).toEqual([]);
  });

  it('shows a killed service-b pod’s endpoint unhealthy', async () => {
    currentTest = 'endpoint';
    const app = mesh.process('service-b-v1-1-app');
    app.signal('SIGKILL');
    await app.exited;
    await page.goto(`${mesh.consoleUrl}#/proxies/service-a-v1-1`);
    const dead = `${podAddress(plan, 'service-b-v1-1')}:15006`;
    const health = page.locator(`tr[data-key="outbound|80|v1|service-b|${dead}"] td:nth-child(6)`);
    await until(`${dead} to show UNHEALTHY on service-a-v1-1's page`, async () =>
      (await health.textContent()) === 'UNHEALTHY' ? true : undefined,
    );
    await page.goto(`${mesh.consoleUrl}#/proxies`);
    const chip = page.locator('tr[data-key="service-a-v1-1"] .chip', { hasText: 'outbound|80|v1|service-b' });
    await until('the proxy list to count 1 of 2 healthy', async () =>
      ((await chip.textContent()) ?? '').endsWith('1/2') ? true : undefined,
    );
  }, 60_000);

  it('reconnects when the control plane restarts', async () => {
    currentTest = 'reconnect';
    await page.goto(`${mesh.consoleUrl}#/graph`);
    await until('the page to be live', async () =>
      (await page.locator('.link.live').count()) > 0 ? true : undefined,
    );
    const cp = mesh.process('control-plane');
    cp.signal('SIGKILL');
    await cp.exited;
    await until('the page to say the connection is lost', async () =>
      (await page.locator('.banner').isVisible()) ? true : undefined,
    );
    await screenshot('reconnect-while-down');
    const again = new ManagedProcess(cp.spec, mesh.logDir);
    mesh.processes.set('control-plane', again);
    const before = (await consoleState())?.at ?? '';
    await until(
      'the page to reconnect and show new states',
      async () =>
        (await page.locator('.banner').isHidden()) && ((await consoleState())?.at ?? '') > before
          ? true
          : undefined,
      45_000,
    );
    await until('the proxies to be back in the graph', async () =>
      ((await consoleState())?.graph.nodes.length ?? 0) >= 6 ? true : undefined,
    );
    // While it was down the browser reported the cut and refused stream; nothing else.
    const others = pageErrors.filter(
      (e) =>
        e.test === 'reconnect' &&
        !/ERR_CONNECTION_REFUSED|ERR_INCOMPLETE_CHUNKED_ENCODING|api\/events/.test(e.text),
    );
    expect(others).toEqual([]);
  }, 90_000);
});

describe.skipIf(!runs)('the console of a mesh with nothing in it yet', () => {
  let plane: ControlPlane;
  let configDir: string;
  let stats: Server;
  let apiUrl: string;
  const proxies: FakeProxy[] = [];

  beforeAll(async () => {
    configDir = mkdtempSync(join(tmpdir(), 'strait-console-empty-'));
    // Proxies without traffic: their stats endpoint answers, with nothing counted yet.
    stats = createServer((_req, res) => res.end('# nothing counted yet\n'));
    await new Promise<void>((resolve) => stats.listen(0, '127.0.155.1', resolve));
    plane = new ControlPlane({
      configDir,
      address: '127.0.155.1',
      port: 0,
      monitoringPort: 0,
      consolePort: 0,
      stateFile: false,
      consoleTickMs: 500,
      logger: pino({ level: 'silent' }),
    });
    const { port, consolePort } = await plane.start();
    apiUrl = `http://127.0.155.1:${port}`;
    page = await browser.context.newPage();
    watch(page);
    await page.goto(`http://127.0.155.1:${consolePort}/`);
  });

  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.disconnect()));
    await page?.close();
    await plane?.stop();
    stats?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('says no proxy has connected, and how to start some', async () => {
    currentTest = 'empty';
    const overlay = page.locator('.graph-overlay .empty');
    await until('the empty state', async () =>
      (await overlay.count()) > 0 ? overlay.textContent() : undefined,
    );
    expect(await overlay.textContent()).toContain('No proxies are connected yet');
    expect(await overlay.textContent()).toContain('npm start');
  });

  it('says there is no traffic yet once proxies connect, with a request to try', async () => {
    currentTest = 'no-traffic';
    const statsAddress = `127.0.155.1:${(stats.address() as AddressInfo).port}`;
    for (const node of [
      {
        id: 'istio-ingressgateway-1',
        role: 'ingress' as const,
        workload: 'istio-ingressgateway',
        namespace: 'default',
        address: '127.0.0.1',
        statsAddress,
      },
      {
        id: 'web-v1-1',
        role: 'sidecar' as const,
        workload: 'web-v1',
        service: 'web',
        version: 'v1',
        namespace: 'default',
        address: '127.0.155.2',
        statsAddress,
      },
    ]) {
      const p = new FakeProxy(apiUrl, node);
      proxies.push(p);
      await p.connect();
    }
    const overlay = page.locator('.graph-overlay .empty');
    await until('the no-traffic state', async () =>
      ((await overlay.textContent()) ?? '').includes('No traffic yet') ? true : undefined,
    );
    expect(await overlay.textContent()).toContain('curl localhost:8080/');
    await page.goto(`${page.url().split('#')[0]}#/egress`);
    expect(await page.locator('[aria-labelledby="egress-title"] .empty').textContent()).toContain(
      'No egress requests counted yet',
    );
    expect(pageErrors.filter((e) => e.test === 'empty' || e.test === 'no-traffic')).toEqual([]);
  });
});
