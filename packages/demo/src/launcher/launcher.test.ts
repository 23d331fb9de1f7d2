// The launcher's pure parts: address plans, the config directory it writes, proxy command lines,
// the Prometheus config (checked with promtool when installed), and log following.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { LocalPlan, offsetPlan, Pods, proxyIds } from '../topology.ts';
import { followLogs } from './follow.ts';
import { listenAddresses, proxyLaunches } from './mesh.ts';
import {
  DemoTracingProvider,
  MeshDir,
  meshFiles,
  pointExternalApiAt,
  prepareConfigDir,
} from './mesh-config.ts';
import { findPrometheus, preparePrometheus, prometheusConfig } from './prometheus.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'strait-launcher-'));
  dirs.push(d);
  return d;
}

describe('address plans', () => {
  it('gives every pod its own address, and the test plan stays inside 127.0.105-109', () => {
    for (const plan of [LocalPlan, offsetPlan(105)]) {
      const podAddresses = Pods.map((p) => plan.pods[p.id]);
      expect(podAddresses.every((a) => typeof a === 'string')).toBe(true);
      expect(new Set(podAddresses).size).toBe(Pods.length);
      expect(new Set(listenAddresses(plan)).size).toBe(listenAddresses(plan).length);
      // --ha adds the second replica and three etcd members, each on an address of its own.
      expect(new Set(listenAddresses(plan, true)).size).toBe(listenAddresses(plan).length + 3 + 6);
    }
    const test = offsetPlan(105);
    for (const hostPort of listenAddresses(test, true))
      expect(hostPort).toMatch(/^127\.0\.10[5-9]\.\d+:\d+$/);
    expect(() => offsetPlan(0)).toThrow(RangeError);
  });

  it('matches the addresses docs/architecture.md gives npm start', () => {
    expect(LocalPlan).toMatchObject({ controlPlane: '127.0.0.1', ingress: '127.0.0.1', egress: '127.0.4.1' });
    expect(LocalPlan.externalApi).toBe('127.0.5.1');
    expect(LocalPlan.pods['service-a-v1-1']).toBe('127.0.1.1');
    expect(LocalPlan.pods['service-b-v1-1']).toBe('127.0.2.1');
    expect(LocalPlan.pods['service-b-v2-1']).toBe('127.0.3.1');
  });
});

describe('proxy command lines', () => {
  it('starts one proxy per id with its role, workload and pod address', () => {
    const launches = proxyLaunches(LocalPlan, 'http://127.0.0.1:15010', '/state/join-token');
    expect(launches.map((l) => l.id).sort()).toEqual(proxyIds().sort());
    const b2 = launches.find((l) => l.id === 'service-b-v2-1');
    expect(b2?.args.join(' ')).toContain(
      '--role sidecar --id service-b-v2-1 --workload service-b-v2 --service service-b --version v2 --address 127.0.3.1',
    );
    expect(b2?.statsAddress).toBe('127.0.3.1');
    const ingress = launches.find((l) => l.id === 'istio-ingressgateway-1');
    expect(ingress?.args.join(' ')).toContain('--role ingress');
    expect(ingress?.args.join(' ')).toContain('--control-plane http://127.0.0.1:15010');
    // Every proxy is given the mesh join token's file, which the control plane writes at its first start.
    for (const l of launches) expect(l.args.join(' ')).toContain('--join-token-file /state/join-token');
  });
});

describe('config directory', () => {
  it('copies the mesh files without the canary sample, pointing the external API at the plan', () => {
    const dir = tempDir();
    const written = prepareConfigDir(dir, '127.0.109.2', '127.0.109.1');
    expect(written).toEqual(meshFiles());
    expect(written).not.toContain('canary.yaml');
    expect(readdirSync(dir).sort()).toEqual([...written].sort());
    const docs = parseAllDocuments(readFileSync(join(dir, 'external.yaml'), 'utf8')).map((d) => d.toJS());
    expect(docs[0].spec.endpoints).toEqual([{ address: '127.0.109.2', ports: { http: 8080 } }]);
    // Everything else is copied as it is, comments included.
    expect(readFileSync(join(dir, 'service-b.yaml'), 'utf8')).toBe(
      readFileSync(join(MeshDir, 'service-b.yaml'), 'utf8'),
    );
    expect(readFileSync(join(dir, 'external.yaml'), 'utf8')).toMatch(/^# The one external host/);
    // Spans go to the control plane at the plan's address (compose reaches it by name).
    const mesh = parseAllDocuments(readFileSync(join(dir, 'mesh.yaml'), 'utf8'))[0]?.toJS();
    const provider = mesh.spec.extensionProviders.find(
      (p: { name: string }) => p.name === DemoTracingProvider,
    );
    expect(provider.opentelemetry).toEqual({
      service: '127.0.109.1',
      port: 15010,
      http: { path: '/v1/traces' },
    });
    expect(readFileSync(join(MeshDir, 'mesh.yaml'), 'utf8')).toContain('service: control-plane');
  });

  it('leaves other ServiceEntries alone and reports YAML errors with the file name', () => {
    const other =
      'kind: ServiceEntry\nspec:\n  hosts: [other.example]\n  resolution: STATIC\n  endpoints: [{address: 10.0.0.1}]\n';
    expect(pointExternalApiAt(other, '127.0.0.9', 'x.yaml')).toBe(other);
    expect(() => pointExternalApiAt('a: [1,', '127.0.0.9', 'broken.yaml')).toThrow(/broken\.yaml/);
  });
});

describe('Prometheus', () => {
  it('discovers targets through the control plane, in a config promtool accepts', () => {
    const config = prometheusConfig({ monitoringUrl: 'http://127.0.105.1:15014', scrapeIntervalSeconds: 1 });
    expect(JSON.stringify(config)).toContain('"url":"http://127.0.105.1:15014/v1/prometheus/targets"');
    const dir = tempDir();
    const args = preparePrometheus(dir, '127.0.105.1:9090', {
      monitoringUrl: 'http://127.0.105.1:15014',
      scrapeIntervalSeconds: 1,
    });
    expect(args).toContain('--web.listen-address=127.0.105.1:9090');
    // With replicas, each one lists the proxies connected to it: Prometheus asks all.
    const replicas = prometheusConfig({
      monitoringUrl: ['http://127.0.105.1:15014', 'http://127.0.105.2:15014'],
      scrapeIntervalSeconds: 1,
    }) as { scrape_configs: { http_sd_configs: { url: string }[] }[] };
    expect(replicas.scrape_configs[0]?.http_sd_configs.map((c) => c.url)).toEqual([
      'http://127.0.105.1:15014/v1/prometheus/targets',
      'http://127.0.105.2:15014/v1/prometheus/targets',
    ]);
    if (findPrometheus() || process.env.CI === 'true') {
      const out = execFileSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], {
        encoding: 'utf8',
      });
      expect(out).toMatch(/SUCCESS/);
    }
  });

  it('finds the binary only where PATH says', () => {
    expect(findPrometheus('/nonexistent-dir')).toBeUndefined();
  });
});

describe('following logs', () => {
  it('prints new lines with the process name in front', async () => {
    const dir = tempDir();
    const file = join(dir, 'service-a-v1-1-app.log');
    writeFileSync(file, '');
    const lines: string[] = [];
    const follower = followLogs([file], (l) => lines.push(l), 20);
    appendFileSync(file, 'one\ntw');
    await sleep(100);
    appendFileSync(file, 'o\n');
    await sleep(100);
    follower.stop();
    expect(lines).toEqual(['service-a-v1-1-app | one', 'service-a-v1-1-app | two']);
  });
});
