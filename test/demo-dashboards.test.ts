// The shipped Grafana dashboards: in step with their generator, on the provisioned datasource,
// covering what the issue asks for, and built only from metric names the api package declares.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ControlPlaneMetrics,
  DiscoveryClusterMetrics,
  IstioMetrics,
  ProxyMetrics,
} from '../packages/api/src/index.ts';
import { renderDashboards } from '../packages/demo/src/dashboards/dashboards.ts';
import { expressionsOf } from '../packages/demo/src/dashboards/grafana.ts';
import { IstioPilotQueries } from '../packages/demo/src/dashboards/istio-pilot-queries.ts';
import { dashboardFileText } from '../packages/demo/src/dashboards/write.ts';
import { RepoRoot } from '../packages/demo/src/launcher/mesh.ts';

const dir = join(RepoRoot, 'docker/grafana/dashboards');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const shipped = new Map(
  files.map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>]),
);

describe('Grafana dashboards', () => {
  it('are exactly what the generator writes (node packages/demo/src/dashboards/write.ts)', () => {
    const rendered = renderDashboards();
    expect([...shipped.keys()].sort()).toEqual([...rendered.keys()].sort());
    for (const [file, json] of rendered) {
      expect(readFileSync(join(dir, file), 'utf8'), file).toBe(dashboardFileText(json));
    }
  });

  it('use the provisioned Prometheus datasource', () => {
    const ds = parse(
      readFileSync(join(RepoRoot, 'docker/grafana/provisioning/datasources/prometheus.yaml'), 'utf8'),
    );
    const uid = ds.datasources[0].uid;
    expect(ds.datasources[0].url).toBe('http://prometheus:9090');
    for (const [file, d] of shipped) {
      for (const p of d.panels as { type: string; datasource?: { uid: string } }[]) {
        if (p.type !== 'row') expect(p.datasource?.uid, file).toBe(uid);
      }
    }
    const provider = parse(
      readFileSync(join(RepoRoot, 'docker/grafana/provisioning/dashboards/strait.yaml'), 'utf8'),
    );
    const compose = parse(readFileSync(join(RepoRoot, 'compose.yaml'), 'utf8'), { merge: true });
    expect(compose.services.grafana.volumes).toContain(
      `./docker/grafana/dashboards:${provider.providers[0].options.path}:ro`,
    );
    expect(compose.services.grafana.environment.GF_AUTH_ANONYMOUS_ENABLED).toBe('true');
  });

  it('cover the mesh, a service and workload, egress and the control plane', () => {
    const all = (file: string) =>
      expressionsOf(shipped.get(file) ?? {})
        .map((q) => q.expr)
        .join('\n');
    const mesh = all('strait-mesh-overview.json');
    expect(mesh).toMatch(/histogram_quantile\(0\.5,/);
    expect(mesh).toMatch(/histogram_quantile\(0\.9,/);
    expect(mesh).toMatch(/histogram_quantile\(0\.99,/);
    expect(mesh).toMatch(/by \(source_workload, destination_service_name\)/);
    const service = all('strait-service.json');
    expect(service).toMatch(/by \(source_workload\)/);
    // Istio's service and workload panels, inbound by source and by mutual TLS.
    expect(service).toContain(
      'sum by (source_workload, source_workload_namespace, response_code) (rate(istio_requests_total{reporter="destination", destination_service_name="$service", connection_security_policy="mutual_tls"}',
    );
    const titles = JSON.stringify(shipped.get('strait-service.json'));
    for (const title of [
      'Incoming Requests By Source And Response Code',
      'Incoming Success Rate (non-5xx responses) By Source',
      'Incoming Request Duration By Source',
      'Incoming Request Size By Source',
      'Response Size By Source',
      'Incoming Requests By Destination Workload And Response Code',
    ])
      expect(titles).toContain(`"title":"${title}"`);
    expect(service).toContain(
      'reporter="destination", destination_workload="$workload", connection_security_policy!="mutual_tls"',
    );
    expect(service).toMatch(/by \(response_code\)/);
    expect(service).toMatch(/by \(response_flags\)/);
    const egress = all('strait-egress.json');
    expect(egress).toContain(ProxyMetrics.egressAllowedTotal);
    expect(egress).toContain(ProxyMetrics.egressDeniedTotal);
    const cp = all('strait-control-plane.json');
    // Every control-plane metric is on its dashboard.
    for (const name of Object.values(ControlPlaneMetrics)) expect(cp).toContain(name);
    expect(cp).toContain(DiscoveryClusterMetrics.connectionsActive);
  });

  it('name only metrics the api package declares', () => {
    for (const [file, d] of shipped)
      for (const { title, expr } of expressionsOf(d))
        for (const name of unknownMetrics(expr)) expect.fail(`${file} "${title}" uses ${name}`);
  });

  it("restate Istio's pilot dashboard: 23 expressions, and every one in Strait's scope names declared metrics", () => {
    expect(IstioPilotQueries).toHaveLength(23);
    const answered = IstioPilotQueries.filter((q) => !q.outOfScope);
    expect(answered).toHaveLength(11);
    for (const q of answered) expect(unknownMetrics(q.expr), `${q.panel}: ${q.expr}`).toEqual([]);
    // The ones left out name what Strait does not have.
    for (const q of IstioPilotQueries.filter((x) => x.outOfScope))
      expect(q.expr).toMatch(/\b(go_|container_|pilot_k8s_|sidecar_injection_)/);
  });
});

/** Metric names in `expr` (of the families Strait exports) that @strait/api does not declare. */
function unknownMetrics(expr: string): string[] {
  const known = new Set<string>([
    ...Object.values(IstioMetrics),
    ...Object.values(ProxyMetrics),
    ...Object.values(ControlPlaneMetrics),
    ...Object.values(DiscoveryClusterMetrics),
  ]);
  return (expr.match(/\b(?:istio|strait|pilot|galley|envoy)_[a-z0-9_]+/g) ?? []).filter(
    (name) => !known.has(name) && !known.has(name.replace(/_(bucket|sum|count)$/, '')),
  );
}
