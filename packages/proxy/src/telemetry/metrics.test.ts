// Tests the proxy's metrics: Istio label sets, the cached series API, health metrics and promtool's lint.
import { spawnSync } from 'node:child_process';
import { IstioRequestLabels, IstioTcpLabels } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { HostLabeler, normalizeHost } from './host-label.ts';
import { labelsFor } from './labels.ts';
import { ProxyTelemetry } from './metrics.ts';

/** Finds the sample line of `name` whose labels include all of `want`; returns its value. */
function sample(text: string, name: string, want: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = line.startsWith(`${name}{`) ? line.slice(name.length + 1, line.lastIndexOf('}')) : '';
    if (Object.entries(want).every(([k, v]) => labels.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

const serviceA = { workload: 'service-a-v1', namespace: 'default', app: 'service-a', version: 'v1' };

describe('labelsFor', () => {
  it('builds the full Istio label set for a source reporter', () => {
    const labels = labelsFor({
      reporter: 'source',
      source: serviceA,
      destination: {
        workload: 'service-b-v2',
        namespace: 'default',
        app: 'service-b',
        version: 'v2',
        serviceName: 'service-b',
      },
      protocol: 'http',
    });
    const names = IstioRequestLabels.filter((l) => l !== 'response_code' && l !== 'response_flags');
    expect(Object.keys(labels).sort()).toEqual([...names].sort());
    expect(labels).toMatchObject({
      reporter: 'source',
      source_workload: 'service-a-v1',
      source_app: 'service-a',
      source_canonical_service: 'service-a',
      source_canonical_revision: 'v1',
      source_principal: 'unknown',
      source_cluster: 'Kubernetes',
      destination_workload: 'service-b-v2',
      destination_service: 'service-b.default.svc.cluster.local',
      destination_service_name: 'service-b',
      destination_service_namespace: 'default',
      destination_canonical_service: 'service-b',
      destination_canonical_revision: 'v2',
      destination_cluster: 'Kubernetes',
      request_protocol: 'http',
      grpc_response_status: '',
      connection_security_policy: 'unknown',
    });
  });

  it('fills unknowns at a destination reporter without a peer, and names external hosts as themselves', () => {
    const inbound = labelsFor({
      reporter: 'destination',
      source: undefined,
      destination: { workload: 'b' },
      protocol: 'http',
    });
    expect(inbound).toMatchObject({
      source_workload: 'unknown',
      source_cluster: 'unknown',
      source_canonical_revision: 'latest',
      destination_service: 'unknown',
      connection_security_policy: 'none',
    });
    const external = labelsFor({
      reporter: 'source',
      source: serviceA,
      destination: { service: 'api.partner.example' },
      protocol: 'tcp',
    });
    expect(external).toMatchObject({
      destination_service: 'api.partner.example',
      destination_service_name: 'api.partner.example',
      destination_service_namespace: 'unknown',
      destination_cluster: 'unknown',
      request_protocol: 'tcp',
    });
    for (const value of Object.values(inbound)) expect(typeof value).toBe('string');
  });
});

describe('ProxyTelemetry series', () => {
  it('caches series by labels and label children per (code, flags)', async () => {
    const t = new ProxyTelemetry({ version: '0.1.0', defaultMetrics: false });
    const labels = labelsFor({
      reporter: 'source',
      source: serviceA,
      destination: { workload: 'service-b-v1' },
      protocol: 'http',
    });
    const series = t.requestSeries(labels);
    expect(t.requestSeries({ ...labels })).toBe(series);
    expect(t.cachedSeries.request).toBe(1);

    // Count label lookups on the counter: one per new (code, flags), none per request.
    // biome-ignore lint/suspicious/noExplicitAny: reaching into prom-client to count lookups
    const counter = (t as any).registry.getSingleMetric('istio_requests_total');
    let lookups = 0;
    const original = counter.cell.bind(counter);
    counter.cell = (values: string[]) => {
      lookups += 1;
      return original(values);
    };
    for (let i = 0; i < 100; i++) series.record(200, '-', 12, 100, 2000);
    series.record(503, 'UH', 1, 0, 19);
    series.record(200, '-', 3, 0, 5);
    series.record(503, 'UH', 1, 0, 19);
    expect(lookups).toBe(2);

    const text = await t.metrics();
    expect(sample(text, 'istio_requests_total', { response_code: '200', response_flags: '-' })).toBe(101);
    expect(sample(text, 'istio_requests_total', { response_code: '503', response_flags: 'UH' })).toBe(2);
    expect(
      sample(text, 'istio_request_duration_milliseconds_bucket', { response_code: '200', le: '5' }),
    ).toBe(1);
    expect(
      sample(text, 'istio_request_duration_milliseconds_bucket', { response_code: '200', le: '25' }),
    ).toBe(101);
    expect(sample(text, 'istio_response_bytes_sum', { response_code: '503' })).toBe(38);
    expect(sample(text, 'istio_request_bytes_count', { response_code: '200' })).toBe(101);

    // Every Istio label is on the sample, in Istio's order.
    const line = text.split('\n').find((l) => l.startsWith('istio_requests_total{')) ?? '';
    const names = [...line.matchAll(/([a-z_]+)="/g)].map((m) => m[1]);
    expect(names).toEqual([...IstioRequestLabels]);
  });

  it('requestSeriesByKey builds labels only on a miss; the cache is bounded', () => {
    const t = new ProxyTelemetry({ version: '0.1.0', defaultMetrics: false, maxCachedSeries: 3 });
    let builds = 0;
    const build = () => {
      builds += 1;
      return { reporter: 'source' as const, destination_workload: 'b' };
    };
    const a = t.requestSeriesByKey('r1|c1|peer', build);
    expect(t.requestSeriesByKey('r1|c1|peer', build)).toBe(a);
    expect(builds).toBe(1);
    expect(a.labels.source_workload).toBe('unknown');
    for (let i = 0; i < 10; i++) t.requestSeries({ destination_workload: `w${i}` });
    expect(t.cachedSeries.request).toBe(3);
  });

  it('records TCP series with the TCP label set', async () => {
    const t = new ProxyTelemetry({ version: '0.1.0', defaultMetrics: false });
    const labels = labelsFor({
      reporter: 'source',
      source: serviceA,
      destination: { service: 'api.partner.example' },
      protocol: 'tcp',
    });
    const tcp = t.tcpSeries(labels);
    expect(t.tcpSeries(labels)).toBe(tcp);
    expect(Object.keys(tcp.labels).sort()).toEqual([...IstioTcpLabels].sort());
    expect(tcp.labels.response_flags).toBe('-');
    tcp.opened();
    tcp.sent(1000);
    tcp.received(10);
    tcp.sent(24);
    tcp.closed();
    const text = await t.metrics();
    const want = { destination_service: 'api.partner.example' };
    expect(sample(text, 'istio_tcp_connections_opened_total', want)).toBe(1);
    expect(sample(text, 'istio_tcp_connections_closed_total', want)).toBe(1);
    expect(sample(text, 'istio_tcp_sent_bytes_total', want)).toBe(1024);
    expect(sample(text, 'istio_tcp_received_bytes_total', want)).toBe(10);
  });
});

describe('ProxyTelemetry health and config metrics', () => {
  it('exports endpoint gauges, health, egress, rate limit, breaker and build metrics', async () => {
    const t = new ProxyTelemetry({ version: '1.2.3', defaultMetrics: false, maxOtherEgressHosts: 2 });
    t.setClusterEndpoints('outbound|80|v1|service-b', 1, 2);
    t.setClusterEndpoints('outbound|80|v2|service-b', 2, 2);
    t.retainClusters(['outbound|80|v1|service-b']);
    t.outlierEjected('outbound|80|v1|service-b');
    t.healthCheckResult('outbound|80|v1|service-b', 'failure');
    t.setEgressAllowList(['api.partner.example', '*.googleapis.com']);
    t.egressAllowed('api.partner.example:443');
    t.egressAllowed('storage.googleapis.com');
    t.egressDenied('host_not_allowed', 'evil1.example');
    t.egressDenied('host_not_allowed', 'evil2.example');
    t.egressDenied('host_not_allowed', 'evil3.example');
    t.egressDenied('host_not_allowed', 'evil4.example');
    t.egressDenied('host_not_allowed', 'bad host!');
    t.rateLimited('gateway');
    t.rateLimited('gateway', 'reviews');
    t.circuitOpen('outbound|80|v1|service-b', 'max_pending_requests');
    const text = await t.metrics();
    expect(sample(text, 'istio_build', { component: 'proxy', tag: '1.2.3' })).toBe(1);
    expect(sample(text, 'strait_cluster_healthy_endpoints', { cluster: 'outbound|80|v1|service-b' })).toBe(1);
    expect(sample(text, 'strait_cluster_endpoints', { cluster: 'outbound|80|v1|service-b' })).toBe(2);
    expect(sample(text, 'strait_cluster_endpoints', { cluster: 'outbound|80|v2|service-b' })).toBeUndefined();
    expect(sample(text, 'strait_outlier_ejections_total', {})).toBe(1);
    expect(sample(text, 'strait_health_check_total', { result: 'failure' })).toBe(1);
    expect(sample(text, 'strait_egress_allowed_total', { host: 'api.partner.example' })).toBe(1);
    expect(sample(text, 'strait_egress_allowed_total', { host: '*.googleapis.com' })).toBe(1);
    expect(sample(text, 'strait_egress_denied_total', { host: 'evil1.example' })).toBe(1);
    expect(sample(text, 'strait_egress_denied_total', { host: 'evil2.example' })).toBe(1);
    expect(sample(text, 'strait_egress_denied_total', { host: 'other' })).toBe(2);
    expect(sample(text, 'strait_egress_denied_total', { host: 'invalid' })).toBe(1);
    expect(sample(text, 'strait_rate_limited_total', { listener: 'gateway', route: '-' })).toBe(1);
    expect(sample(text, 'strait_rate_limited_total', { route: 'reviews' })).toBe(1);
    expect(sample(text, 'strait_circuit_open_total', { breaker: 'max_pending_requests' })).toBe(1);
  });

  it("exports the access log's dropped lines as a counter read at each scrape", async () => {
    const t = new ProxyTelemetry({ version: '0.1.0', defaultMetrics: false });
    expect(sample(await t.metrics(), 'strait_access_log_dropped_lines_total', {})).toBe(0);
    let dropped = 3;
    t.countAccessLogDrops(() => dropped);
    expect(sample(await t.metrics(), 'strait_access_log_dropped_lines_total', {})).toBe(3);
    dropped = 7;
    expect(sample(await t.metrics(), 'strait_access_log_dropped_lines_total', {})).toBe(7);
    expect(sample(await t.metrics(), 'strait_access_log_dropped_lines_total', {})).toBe(7);
  });

  it('follows the discovery status: version, staleness and NACKs', async () => {
    const t = new ProxyTelemetry({ version: '0.1.0', defaultMetrics: false });
    t.configApplied('boot');
    t.trackDiscovery({ stale: true, version: 'boot' });
    let text = await t.metrics();
    expect(sample(text, 'strait_config_version_info', { version: 'boot' })).toBe(1);
    expect(sample(text, 'strait_config_stale', {})).toBe(1);
    expect(sample(text, 'strait_config_applies_total', {})).toBe(1);
    const nack = { nonce: 'n2', at: 5 };
    t.trackDiscovery({ stale: false, version: 'v1' });
    t.trackDiscovery({ stale: false, version: 'v1', lastNack: nack });
    t.trackDiscovery({ stale: false, version: 'v1', lastNack: nack });
    text = await t.metrics();
    expect(sample(text, 'strait_config_version_info', { version: 'boot' })).toBeUndefined();
    expect(sample(text, 'strait_config_version_info', { version: 'v1' })).toBe(1);
    expect(sample(text, 'strait_config_stale', {})).toBe(0);
    expect(sample(text, 'strait_config_applies_total', {})).toBe(2);
    expect(sample(text, 'strait_config_nacks_total', {})).toBe(1);
  });
});

describe('HostLabeler', () => {
  it('normalizes hosts and bounds the values', () => {
    expect(normalizeHost('API.Partner.Example.:8443')).toBe('api.partner.example');
    expect(normalizeHost('[::1]:80')).toBe('::1');
    expect(normalizeHost('a b')).toBeUndefined();
    expect(normalizeHost('')).toBeUndefined();
    const labeler = new HostLabeler(1);
    labeler.setAllowList(['*.example.com']);
    expect(labeler.label('x.example.com')).toBe('*.example.com');
    expect(labeler.label('example.com')).toBe('example.com');
    expect(labeler.label('other.test')).toBe('other');
    expect(labeler.label('example.com')).toBe('example.com');
  });
});

describe('promtool check metrics', () => {
  it('finds nothing to note on our metrics beyond Istio millisecond histogram', async () => {
    const found = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (found.error) {
      if (process.env.CI === 'true') throw new Error('promtool is missing: apt-get install prometheus');
      console.warn('skipping promtool lint: promtool not found (apt-get install prometheus)');
      return;
    }
    const t = new ProxyTelemetry({ version: '0.1.0' });
    const labels = labelsFor({
      reporter: 'destination',
      source: serviceA,
      destination: { workload: 'b' },
      protocol: 'http',
    });
    t.requestSeries(labels).record(200, '-', 3, 10, 20);
    t.tcpSeries(labels).opened();
    t.setClusterEndpoints('c', 1, 1);
    t.outlierEjected('c');
    t.healthCheckResult('c', 'success');
    t.egressAllowed('api.partner.example');
    t.egressDenied('host_not_allowed', 'x.test');
    t.configApplied('v1');
    t.configNack();
    t.rateLimited('l', 'r');
    t.circuitOpen('c', 'max_requests');
    const text = await t.metrics();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const output = `${result.stdout}${result.stderr}`;
    const notes = output
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const unexpected = notes.filter(
      (l) =>
        !/^(istio_request_duration_milliseconds|nodejs_|process_)/.test(l) && !/^error while linting/.test(l),
    );
    expect(unexpected).toEqual([]);
    // Exit code 3 means "lint problems found"; anything else but 0 is a parse failure.
    expect([0, 3]).toContain(result.status);
    if (result.status === 3) expect(notes.length).toBeGreaterThan(0);
  });
});

describe('hot-path cells', () => {
  it('render histograms the way prom-client does: cumulative buckets, +Inf, sum and count', async () => {
    const t = new ProxyTelemetry({ version: '0.1.0', defaultMetrics: false });
    const series = t.requestSeries({ reporter: 'source' });
    for (const ms of [0.2, 3, 3, 700, 4_000_000]) series.record(200, '-', ms, 0, 0);
    const text = await t.metrics();
    const bucket = (le: string) =>
      Number(
        text
          .split('\n')
          .find(
            (l) => l.startsWith('istio_request_duration_milliseconds_bucket{') && l.includes(`le="${le}"`),
          )
          ?.split(' ')
          .at(-1),
      );
    expect(bucket('0.5')).toBe(1);
    expect(bucket('5')).toBe(3);
    expect(bucket('1000')).toBe(4);
    expect(bucket('3600000')).toBe(4);
    expect(bucket('+Inf')).toBe(5);
    expect(text).toMatch(/istio_request_duration_milliseconds_count\{[^}]*\} 5/);
    expect(text).toMatch(/istio_request_duration_milliseconds_sum\{[^}]*\} 4000706.2/);
  });
});
