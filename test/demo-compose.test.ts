// compose.yaml must run the same mesh as `npm start`: services, roles, versions, ports and networks
// are compared with the topology module, read as compose reads it with no settings in the environment
// (test/docker-stack.test.ts runs it on a Docker engine).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProxyRuntime } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { proxyLaunches, RepoRoot } from '../packages/demo/src/launcher/mesh.ts';
import {
  AppPort,
  ControlPlane,
  Egress,
  ExternalApi,
  GrafanaPort,
  Ingress,
  LocalPlan,
  Pods,
  PrometheusPort,
  Upstreams,
} from '../packages/demo/src/topology.ts';

interface ComposeService {
  image?: string;
  build?: { args?: Record<string, string> };
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  networks?: Record<string, { aliases?: string[] } | null>;
  network_mode?: string;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}

interface Compose {
  services: Record<string, ComposeService>;
  networks: Record<string, { internal?: boolean } | null>;
  volumes?: Record<string, unknown>;
}

const composeText = readFileSync(join(RepoRoot, 'compose.yaml'), 'utf8');
/** compose.yaml's `${NAME:-default}` settings, each replaced by its default. */
const withDefaults = (text: string) =>
  text.replace(/(?<!\$)\$\{(\w+):-([^}]*)\}/g, (_, _name, value) => value);
const compose = parse(withDefaults(composeText), { merge: true }) as Compose;
/** How compose.yaml (and the Dockerfile) write a setting: `${NAME}` or `${NAME:-default}`. */
const setting = (name: string, fallback?: string) =>
  fallback === undefined ? `\${${name}}` : `\${${name}:-${fallback}}`;
const services = compose.services;

function service(name: string): ComposeService {
  const s = services[name];
  if (!s) throw new Error(`compose.yaml has no service ${name}`);
  return s;
}

function networksOf(name: string): string[] {
  return Object.keys(service(name).networks ?? {}).sort();
}

function published(name: string): string[] {
  return (service(name).ports ?? []).map((p) => String(p));
}

const appService = (podId: string) => `${podId}-app`;

describe('compose.yaml mirrors the topology', () => {
  it('has exactly the services the topology names, plus the monitoring and traffic ones', () => {
    const expected = [
      ControlPlane.name,
      Ingress.workload,
      Egress.workload,
      ...Pods.flatMap((p) => [p.id, appService(p.id)]),
      ExternalApi.name,
      'traffic',
      'prometheus',
      'grafana',
      'jaeger',
      // The `ha` profile: a second control-plane replica and three etcd members.
      `${ControlPlane.name}-b`,
      'etcd-1',
      'etcd-2',
      'etcd-3',
    ].sort();
    expect(Object.keys(services).sort()).toEqual(expected);
  });

  it('runs every proxy with the id, role, workload, service and version the launcher gives it', () => {
    const launched = proxyLaunches(LocalPlan, 'http://cp', '/join-token').map((l) => {
      const flag = (name: string) => {
        const i = l.args.indexOf(name);
        return i >= 0 ? l.args[i + 1] : undefined;
      };
      return {
        id: flag('--id'),
        role: flag('--role'),
        workload: flag('--workload'),
        service: flag('--service'),
        version: flag('--version'),
      };
    });
    const inCompose = Object.values(services)
      .filter((s) => s.environment?.STRAIT_ROLE)
      .map((s) => {
        const env = s.environment ?? {};
        expect(env.STRAIT_CONTROL_PLANE).toBe(`http://${ControlPlane.name}:${ControlPlane.discoveryPort}`);
        // Every proxy gets the join token the control plane writes on the shared volume, read-only.
        expect(env.STRAIT_JOIN_TOKEN_FILE).toBe(
          services[ControlPlane.name]?.environment?.STRAIT_JOIN_TOKEN_FILE,
        );
        expect(s.volumes).toEqual(['mesh-join:/var/lib/strait/join:ro']);
        return {
          id: env.STRAIT_ID,
          role: env.STRAIT_ROLE,
          workload: env.STRAIT_WORKLOAD,
          service: env.STRAIT_SERVICE,
          version: env.STRAIT_VERSION,
        };
      });
    const byId = (a: { id?: string }, b: { id?: string }) => String(a.id).localeCompare(String(b.id));
    expect(inCompose.sort(byId)).toEqual(launched.sort(byId));
  });

  it('starts every proxy with the runtime settings the launcher and the benchmark use', () => {
    const proxies = Object.entries(services).filter(([, s]) => s.environment?.STRAIT_ROLE);
    expect(proxies.length).toBe(Pods.length + 2);
    for (const [name, proxy] of proxies) {
      expect(proxy.command, name).toEqual([
        'node',
        ...ProxyRuntime.nodeArgs,
        'packages/proxy/bin/strait-proxy.mjs',
      ]);
    }
    const dockerfile = readFileSync(join(RepoRoot, 'docker/Dockerfile'), 'utf8');
    for (const [name, value] of Object.entries(ProxyRuntime.env)) {
      expect(dockerfile, `docker/Dockerfile sets ${name}`).toContain(`ENV ${name}=${value}`);
    }
  });

  it('gives each pod a sidecar on the mesh network and an app inside the sidecar’s network namespace', () => {
    for (const pod of Pods) {
      const sidecar = service(pod.id);
      expect(networksOf(pod.id), pod.id).toEqual(['mesh']);
      expect(sidecar.environment?.STRAIT_APP_ADDRESS).toBe('127.0.0.1');
      // The app's HTTP proxy is on the pod's loopback only: other pods cannot send through this sidecar.
      expect(sidecar.environment?.STRAIT_OUTBOUND_ADDRESS).toBe('127.0.0.1');
      expect(Number(sidecar.environment?.STRAIT_APP_PORT)).toBe(AppPort);
      expect(sidecar.ports, `${pod.id} publishes nothing`).toBeUndefined();

      const app = service(appService(pod.id));
      expect(app.network_mode).toBe(`service:${pod.id}`);
      expect(app.networks, `${pod.id} app has no networks of its own`).toBeUndefined();
      expect(app.ports).toBeUndefined();
      expect(app.command?.slice(-1)).toEqual([pod.service]);
      const env = app.environment ?? {};
      expect(env.SERVICE_VERSION).toBe(pod.version);
      expect(env.POD_NAME).toBe(pod.id);
      expect(env.APP_ADDRESS).toBe('127.0.0.1');
      expect(Number(env.APP_PORT)).toBe(AppPort);
      expect(env.UPSTREAM_URL).toBe(Upstreams[pod.service]);
      expect(env.HTTP_PROXY).toBe('http://127.0.0.1:15001');
      expect(app.depends_on?.[pod.id]).toBeDefined();
    }
  });

  it('keeps the mesh network internal, with only the egress gateway reaching the outside network', () => {
    expect(compose.networks.mesh?.internal).toBe(true);
    expect(compose.networks.outside?.internal ?? false).toBe(false);
    const onOutside = Object.keys(services).filter((n) => networksOf(n).includes('outside'));
    expect(onOutside.sort()).toEqual([ExternalApi.name, Egress.workload].sort());
    const meshMembersOutside = onOutside.filter((n) => networksOf(n).includes('mesh'));
    expect(meshMembersOutside).toEqual([Egress.workload]);
    expect(networksOf(Egress.workload)).toEqual(['mesh', 'outside']);
    expect(networksOf(Ingress.workload)).toEqual(['edge', 'mesh']);
  });

  it('serves the external API as api.partner.example on the mesh port, outside the mesh', () => {
    const ext = service(ExternalApi.name);
    expect(networksOf(ExternalApi.name)).toEqual(['outside']);
    expect(ext.networks?.outside?.aliases).toContain(ExternalApi.host);
    expect(Number(ext.environment?.APP_PORT)).toBe(ExternalApi.meshPort);
  });

  it('publishes the ingress, Prometheus, Grafana, the control plane and its console on 127.0.0.1 only, each host port a setting', () => {
    expect(published(Ingress.workload)).toEqual([`127.0.0.1:${Ingress.port}:${Ingress.port}`]);
    expect(published('prometheus')).toEqual([`127.0.0.1:${PrometheusPort}:${PrometheusPort}`]);
    expect(published('grafana')).toEqual([`127.0.0.1:${GrafanaPort}:${GrafanaPort}`]);
    expect(published(ControlPlane.name)).toEqual([
      `127.0.0.1:${ControlPlane.discoveryPort}:${ControlPlane.discoveryPort}`,
      `127.0.0.1:${ControlPlane.consolePort}:${ControlPlane.consolePort}`,
    ]);
    expect(published(`${ControlPlane.name}-b`)).toEqual([
      `127.0.0.1:${ControlPlane.discoveryPort + 1}:${ControlPlane.discoveryPort}`,
    ]);
    expect(composeText).toContain(
      `"127.0.0.1:${setting('STRAIT_CONTROL_PLANE_B_HOST_PORT', String(ControlPlane.discoveryPort + 1))}:${ControlPlane.discoveryPort}"`,
    );
    const publishing = Object.keys(services).filter((n) => published(n).length > 0);
    expect(publishing.sort()).toEqual(
      [
        ControlPlane.name,
        `${ControlPlane.name}-b`,
        'grafana',
        'jaeger',
        Ingress.workload,
        'prometheus',
      ].sort(),
    );
    expect(published('jaeger')).toEqual(['127.0.0.1:16686:16686']);
    for (const [name, port] of [
      ['STRAIT_INGRESS_HOST_PORT', Ingress.port],
      ['STRAIT_PROMETHEUS_HOST_PORT', PrometheusPort],
      ['STRAIT_GRAFANA_HOST_PORT', GrafanaPort],
      ['STRAIT_CONTROL_PLANE_HOST_PORT', ControlPlane.discoveryPort],
      ['STRAIT_CONSOLE_HOST_PORT', ControlPlane.consolePort],
      ['STRAIT_JAEGER_HOST_PORT', 16686],
    ] as const) {
      expect(composeText).toContain(`"127.0.0.1:${setting(name, String(port))}:${port}"`);
    }
  });

  it('gives every setting it reads from the environment a default', () => {
    const settings = [...composeText.matchAll(/(?<!\$)\$\{([^}]*)\}/g)].map((m) => m[1] as string);
    expect(settings.length).toBeGreaterThan(0);
    for (const setting of settings) expect(setting).toMatch(/^\w+:-\S+$/);
  });

  it('takes every base image from a setting and starts Grafana only in its profile', () => {
    expect(composeText).toContain(`image: ${setting('STRAIT_IMAGE', 'strait:dev')}`);
    expect(service(ControlPlane.name).build?.args?.NODE_IMAGE).toBe('node:24-bookworm-slim');
    expect(composeText).toContain(`NODE_IMAGE: ${setting('NODE_IMAGE', 'node:24-bookworm-slim')}`);
    expect(composeText).toMatch(/image: \$\{PROMETHEUS_IMAGE:-prom\/prometheus:[^}]+\}/);
    expect(composeText).toMatch(/image: \$\{GRAFANA_IMAGE:-grafana\/grafana:[^}]+\}/);
    expect(composeText).toMatch(/image: \$\{JAEGER_IMAGE:-jaegertracing\/all-in-one:[^}]+\}/);
    expect(service('grafana').profiles).toEqual(['grafana']);
    expect(service('jaeger').profiles).toEqual(['jaeger']);
    const profiled = Object.keys(services).filter((n) => service(n).profiles !== undefined);
    expect(profiled.sort()).toEqual([
      `${ControlPlane.name}-b`,
      'etcd-1',
      'etcd-2',
      'etcd-3',
      'grafana',
      'jaeger',
    ]);
    for (const name of profiled.filter((n) => n !== 'grafana' && n !== 'jaeger'))
      expect(service(name).profiles).toEqual(['ha']);
    // etcd is Debian's package on the same base image as the mesh's.
    expect(service('etcd-1').build?.args?.BASE_IMAGE).toBe('node:24-bookworm-slim');
  });

  it('checks health without starting Node (a check runs every few seconds in every container)', () => {
    for (const [name, s] of Object.entries(services)) {
      if (!s.healthcheck) continue;
      const command = s.healthcheck.test.join(' ');
      if (name === 'prometheus') expect(command).toMatch(/wget/);
      else if (name.startsWith('etcd-')) expect(command).toMatch(/^CMD etcdctl .* endpoint health$/);
      else expect(command, name).toMatch(/^CMD(-SHELL)? strait-healthcheck http:\/\//);
    }
  });

  it('comes up in order: health checks everywhere and depends_on naming real services', () => {
    for (const [name, s] of Object.entries(services)) {
      if (name !== 'traffic' && name !== 'grafana' && name !== 'jaeger')
        expect(s.healthcheck, `${name} has a health check`).toBeDefined();
      for (const [dep, spec] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(
          spec.condition,
        );
        if (spec.condition === 'service_healthy') expect(services[dep]?.healthcheck).toBeDefined();
      }
    }
    // No cycles: a depth-first walk never meets a service it is still inside.
    const visiting = new Set<string>();
    const done = new Set<string>();
    const walk = (n: string): void => {
      if (done.has(n)) return;
      expect(visiting.has(n), `dependency cycle through ${n}`).toBe(false);
      visiting.add(n);
      for (const dep of Object.keys(services[n]?.depends_on ?? {})) walk(dep);
      visiting.delete(n);
      done.add(n);
    };
    for (const n of Object.keys(services)) walk(n);
    expect(service('traffic').depends_on?.[Ingress.workload]?.condition).toBe('service_healthy');
  });

  it('points Prometheus at the control plane’s HTTP service discovery', () => {
    const prom = parse(readFileSync(join(RepoRoot, 'docker/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: { http_sd_configs?: { url: string }[] }[];
    };
    const urls = prom.scrape_configs.flatMap((c) => (c.http_sd_configs ?? []).map((s) => s.url));
    expect(urls).toEqual([
      `http://${ControlPlane.name}:${ControlPlane.monitoringPort}/v1/prometheus/targets`,
    ]);
    expect(
      service('prometheus').volumes?.some((v) => v.startsWith('./docker/prometheus/prometheus.yml:')),
    ).toBe(true);
    expect(networksOf('prometheus')).toContain('mesh');
  });

  it('replaces only the external API’s resolution in Docker', () => {
    const local = parseAllDocuments(
      readFileSync(join(RepoRoot, 'packages/demo/mesh/external.yaml'), 'utf8'),
    )[0]?.toJS();
    const docker = parseAllDocuments(
      readFileSync(join(RepoRoot, 'docker/mesh/external.yaml'), 'utf8'),
    )[0]?.toJS();
    expect(docker.metadata).toEqual(local.metadata);
    expect(docker.spec.hosts).toEqual([ExternalApi.host]);
    expect(docker.spec.ports).toEqual(local.spec.ports);
    expect(local.spec.resolution).toBe('STATIC');
    expect(docker.spec.resolution).toBe('DNS');
    expect(docker.spec.endpoints).toBeUndefined();
  });

  it('builds one multi-stage Node 24 image with production dependencies, run as a non-root user', () => {
    const dockerfile = readFileSync(join(RepoRoot, 'docker/Dockerfile'), 'utf8');
    const lines = dockerfile.split('\n');
    // No `# syntax=` line (BuildKit would pull a frontend image) and no COPY --chmod (the classic builder
    // of docker-compose 1.x refuses it).
    expect(dockerfile).not.toMatch(/^#\s*syntax=/m);
    expect(dockerfile).not.toMatch(/^(COPY|ADD) .*--chmod/m);
    const firstFrom = lines.findIndex((l) => l.startsWith('FROM '));
    expect(lines.slice(0, firstFrom)).toContain('ARG NODE_IMAGE=node:24-bookworm-slim');
    const froms = lines.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const stages = new Set<string>();
    for (const from of froms) {
      const [, base, stage] = /^FROM (\S+)(?: AS (\S+))?$/.exec(from) ?? [];
      expect(base === setting('NODE_IMAGE') || stages.has(String(base)), from).toBe(true);
      if (stage) stages.add(stage);
    }
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    const images = new Set(Object.values(services).map((s) => s.image));
    expect(images).toContain('strait:dev');
  });
});
