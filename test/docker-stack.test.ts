// compose.yaml on a real Docker engine: the image built, the whole stack up and healthy, and then the checks a
// user would make: the chain through the published port, egress closed at the network level, Prometheus
// scraping every dashboard query, the canary through straitctl in the control-plane container, its config
// kept across a restart, a killed app container, and `down -v` leaving nothing. `npm run test:docker`
// (npm test calls it); it reaches the stack only through ports on 127.0.0.1 and `docker exec`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsolePaths, type ConsoleState } from '@strait/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepoRoot, waitForSync } from '../packages/demo/src/launcher/mesh.ts';
import { waitForOk } from '../packages/demo/src/launcher/wait.ts';
import { Egress, Ingress, proxyIds } from '../packages/demo/src/topology.ts';
import {
  type ChainAnswer,
  expectCanaryApplied,
  expectDashboardsServed,
  expectServiceBV1Loss,
  expectSplit,
  send,
} from './support/demo-checks.ts';
import { baseImage, ComposeProject, dockerReadiness } from './support/docker.ts';

const readiness = dockerReadiness({ publishedPorts: true });
if (!readiness.ready) {
  if (process.env.CI === 'true') {
    it('finds a Docker engine and a compose it can reach (under CI=true these tests never skip)', () => {
      throw new Error(`the Docker tests cannot run here: ${readiness.reason}`);
    });
  } else {
    console.warn(`docker-stack: skipped: ${readiness.reason}`);
  }
}

/** Host ports of the test's stack: unusual ones, so that a developer's `npm start` or own stack keeps its own. */
const HostPorts = { ingress: 38080, controlPlane: 35010, console: 30001, prometheus: 39090 };
const ingressUrl = `http://127.0.0.1:${HostPorts.ingress}/`;
const controlPlaneUrl = `http://127.0.0.1:${HostPorts.controlPlane}`;
const prometheusUrl = `http://127.0.0.1:${HostPorts.prometheus}`;
const consoleUrl = `http://127.0.0.1:${HostPorts.console}`;
const logDir = join(RepoRoot, '.tmp/test-logs/docker-stack');
const inContainer = readFileSync(join(RepoRoot, 'test/support/in-container.mjs'), 'utf8');

/** Every service the stack starts without a profile: all of compose.yaml but Grafana. */
const StackServices = [
  'control-plane',
  Ingress.workload,
  Egress.workload,
  'service-a-v1-1',
  'service-a-v1-1-app',
  'service-a-v1-2',
  'service-a-v1-2-app',
  'service-b-v1-1',
  'service-b-v1-1-app',
  'service-b-v1-2',
  'service-b-v1-2-app',
  'service-b-v2-1',
  'service-b-v2-1-app',
  'external-api',
  'traffic',
  'prometheus',
];

let project: ComposeProject;

/** Runs one of in-container.mjs's checks inside a service's container. */
async function inside(service: string, ...args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse(await project.node(service, inContainer, args)) as Record<string, unknown>;
}

/** The v1 and v2 weights of service-b's VirtualService, as the control plane serves it. */
async function serviceBWeights(): Promise<number[]> {
  const res = await fetch(`${controlPlaneUrl}/v1/resources`);
  const body = (await res.json()) as {
    items: { kind: string; metadata: { name: string }; spec: { http: { route: { weight: number }[] }[] } }[];
  };
  const vs = body.items.find((r) => r.kind === 'VirtualService' && r.metadata.name === 'service-b');
  return (vs?.spec.http[0]?.route ?? []).map((r) => r.weight);
}

async function waitForControlPlane(): Promise<void> {
  await project.waitHealthy(['control-plane'], 120_000);
  await waitForSync(controlPlaneUrl, proxyIds(), 90_000);
}

describe.skipIf(!readiness.ready)(
  `the compose stack on a Docker engine${readiness.ready ? '' : ` (skipped: ${readiness.reason})`}`,
  () => {
    beforeAll(async () => {
      if (!readiness.ready) return;
      mkdirSync(logDir, { recursive: true });
      const settings = {
        STRAIT_IMAGE: 'strait:docker-test',
        NODE_IMAGE: baseImage('NODE_IMAGE'),
        PROMETHEUS_IMAGE: baseImage('PROMETHEUS_IMAGE'),
        STRAIT_INGRESS_HOST_PORT: String(HostPorts.ingress),
        STRAIT_CONTROL_PLANE_HOST_PORT: String(HostPorts.controlPlane),
        STRAIT_CONSOLE_HOST_PORT: String(HostPorts.console),
        STRAIT_PROMETHEUS_HOST_PORT: String(HostPorts.prometheus),
      };
      project = new ComposeProject('strait-docker-test', readiness.compose, settings);
      console.info(`docker-stack: ${readiness.compose.join(' ')}, ${JSON.stringify(settings)}`);
      try {
        // A run that died half-way may have left its stack behind.
        await project.down();
        // One build (every mesh service shares the image); then `up` finds it and builds nothing.
        const built = await project.run(['build', 'control-plane'], 20 * 60_000);
        writeFileSync(join(logDir, 'build.log'), built);
        const startedAt = Date.now();
        await project.run(['up', '-d'], 10 * 60_000);
        const healthyAt = await project.waitHealthy(StackServices, 240_000);
        await waitForSync(controlPlaneUrl, proxyIds(), 90_000);
        const syncedAt = Date.now();
        // As `npm start` does: ready when the chain has answered through the front door.
        await waitForOk(ingressUrl, 60_000, 'the chain through the published ingress port');
        const seconds = (at: number) => `${((at - startedAt) / 1000).toFixed(1)} s`;
        console.info(
          `docker-stack: from up to every container healthy ${seconds(healthyAt)}, every proxy SYNCED ` +
            `${seconds(syncedAt)}, the chain answering ${seconds(Date.now())}`,
        );
      } catch (err) {
        const report = await project.troubleReport().catch((e: unknown) => `(no report: ${String(e)})`);
        writeFileSync(join(logDir, 'failure.log'), `${String(err)}\n${report}\n`);
        await project.down().catch(() => undefined);
        throw new Error(`${(err as Error).message}\n${report}`);
      }
    }, 30 * 60_000);

    afterAll(async () => {
      // Kept (in the git-ignored .tmp/) so that a failure can be read; the last test saves them too.
      if ((await project?.containers())?.length) await project.saveLogs(logDir);
      await project?.down();
    }, 180_000);

    it('answers through the published port with every hop in Via', async () => {
      const res = await fetch(ingressUrl);
      expect(res.status).toBe(200);
      const a = (await res.json()) as ChainAnswer;
      const b = a.upstream;
      const external = b.upstream as unknown as { service: string; host: string; via: string[] };
      const sidecar = (pod: string) => `1.1 ${pod} (strait-sidecar)`;
      expect(a.service).toBe('service-a');
      expect(a.via).toEqual([`1.1 ${Ingress.id} (strait-ingress)`, sidecar(a.pod)]);
      expect(b.service).toBe('service-b');
      expect(b.via).toEqual([sidecar(a.pod), sidecar(b.pod)]);
      expect(external).toMatchObject({ service: 'external-api', host: 'api.partner.example' });
      expect(external.via).toEqual([sidecar(b.pod), `1.1 ${Egress.id} (strait-egress)`]);

      // The ingress balances between both service-a containers.
      const results = await send(ingressUrl, 20);
      expect(results.filter((r) => r.status !== 200)).toEqual([]);
      const pods = new Set(results.map((r) => (r.body as ChainAnswer).pod));
      expect([...pods].sort()).toEqual(['service-a-v1-1', 'service-a-v1-2']);
    }, 60_000);

    it('keeps an app container off every network but the mesh: out only through its sidecar and the egress gateway', async () => {
      const app = 'service-b-v1-2-app';
      const external = await project.containerOf('external-api');
      const addresses = JSON.parse(
        await project.docker(['inspect', '--format', '{{json .NetworkSettings.Networks}}', external.id]),
      ) as Record<string, { IPAddress: string }>;
      const externalIp = Object.values(addresses)[0]?.IPAddress as string;
      expect(externalIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

      // At the network level: mesh names resolve, outside names do not (the query dies on the internal
      // network); a mesh peer answers, the external API's own address does not.
      expect((await inside(app, 'resolve', 'istio-egressgateway.mesh')).addresses).toHaveLength(1);
      for (const name of ['api.partner.example', 'external-api']) {
        const outside = await inside(app, 'resolve', name);
        expect(outside.addresses, `${app} resolved ${name}`).toBeUndefined();
      }
      expect(await inside(app, 'connect', 'istio-egressgateway.mesh', '15443')).toEqual({ connected: true });
      const direct = await inside(app, 'connect', externalIp, '80');
      expect(direct.connected, `${app} reached ${externalIp}:80 directly`).toBe(false);

      // Through the sidecar: the allow-listed host answers by way of the egress gateway; any other is refused.
      const allowed = await inside(app, 'get-via', 'http://127.0.0.1:15001', 'http://api.partner.example/');
      expect(allowed.status).toBe(200);
      expect(JSON.parse(String(allowed.body))).toMatchObject({
        service: 'external-api',
        via: ['1.1 service-b-v1-2 (strait-sidecar)', `1.1 ${Egress.id} (strait-egress)`],
      });
      const denied = await inside(app, 'get-via', 'http://127.0.0.1:15001', 'http://example.org/');
      expect(denied.status).toBe(403);
      expect(String(denied.body)).toMatch(/example\.org/);
    }, 60_000);

    it('has Prometheus find every target through HTTP service discovery, and every dashboard query return data', async () => {
      await expectDashboardsServed(prometheusUrl, ingressUrl, proxyIds().length + 1);
    }, 240_000);

    it('serves the mesh console on its published port, with every proxy in its state', async () => {
      const page = await fetch(`${consoleUrl}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      const state = (await (await fetch(`${consoleUrl}${ConsolePaths.state}`)).json()) as ConsoleState;
      expect(state.proxies.map((p) => p.id).sort()).toEqual(proxyIds().sort());
    }, 60_000);

    it('moves service-b to 50/50 with straitctl apply run in the control-plane container (0.5 ± 0.1 over 400)', async () => {
      await expectCanaryApplied(controlPlaneUrl, ingressUrl, async () => {
        const cli = ['straitctl', 'apply', '-f', 'packages/demo/mesh/canary.yaml'];
        expect(await project.run(['exec', '-T', 'control-plane', ...cli], 60_000)).toMatch(/service-b/);
      });
    }, 120_000);

    it('keeps the applied config across a restart, and across a new control-plane container (the named volume)', async () => {
      await project.run(['restart', 'control-plane'], 120_000);
      await waitForControlPlane();
      expect(await serviceBWeights()).toEqual([50, 50]);

      const first = await project.containerOf('control-plane');
      await project.run(['up', '-d', '--no-deps', '--force-recreate', 'control-plane'], 180_000);
      const second = await project.containerOf('control-plane');
      expect(second.id).not.toBe(first.id);
      await waitForControlPlane();
      expect(await serviceBWeights()).toEqual([50, 50]);
      // The proxies took their config from the new control plane: still the canary's split.
      await expectSplit(ingressUrl, 0.5, 0.1);
    }, 300_000);

    it('takes a killed service-b v1 app container out under traffic: at most 30 failures, then none', async () => {
      const victim = await project.containerOf('service-b-v1-1-app');
      await expectServiceBV1Loss(
        ingressUrl,
        async () => {
          await project.docker(['kill', victim.id]);
        },
        async (pod) => String((await inside(pod, 'get', `http://${pod}.mesh:15090/stats/prometheus`)).body),
      );
    }, 180_000);

    it('leaves no container, network or volume of the project after down -v', async () => {
      await project.saveLogs(logDir);
      expect((await project.leftovers()).length).toBeGreaterThan(0);
      await project.down();
      expect(await project.leftovers()).toEqual([]);
    }, 180_000);
  },
);
