// The graph from a reading: nodes for every proxy and ServiceEntry host, edges from the calling side,
// 5xx share and health, p99 from buckets, mTLS from the destination side, denied egress, endpoint health.
import type { NodeInfo } from '@strait/api';
import { loadTexts } from '@strait/api/resources';
import { describe, expect, it } from 'vitest';
import { buildGraph, healthOf, quantile } from './graph.ts';
import { emptyReading, type Series } from './reading.ts';

const proxies: NodeInfo[] = [
  { id: 'ingress-1', role: 'ingress', workload: 'istio-ingressgateway', namespace: 'default' },
  { id: 'a-1', role: 'sidecar', workload: 'a-v1', service: 'a', version: 'v1', namespace: 'default' },
  { id: 'b-1', role: 'sidecar', workload: 'b-v1', service: 'b', version: 'v1', namespace: 'default' },
  { id: 'b-2', role: 'sidecar', workload: 'b-v2', service: 'b', version: 'v2', namespace: 'default' },
];

const { resources } = loadTexts(
  new Map([
    [
      'mesh.yaml',
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: partner }
spec: { hosts: [api.partner.example], ports: [{ number: 80, name: http }], resolution: DNS }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: b }
spec: { host: b, subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }] }
`,
    ],
  ]),
);

function req(
  from: [string, string, string],
  to: [string, string, string],
  code: string,
  value: number,
  extra: Record<string, string> = {},
): Series {
  return {
    labels: {
      reporter: 'source',
      source_workload: from[0],
      source_app: from[1],
      source_version: from[2],
      destination_workload: to[0],
      destination_app: to[1],
      destination_version: to[2],
      destination_service: to[1],
      response_code: code,
      connection_security_policy: 'unknown',
      ...extra,
    },
    value,
  };
}

const ingress: [string, string, string] = ['istio-ingressgateway', 'istio-ingressgateway', 'unknown'];
const a: [string, string, string] = ['a-v1', 'a', 'v1'];
const b1: [string, string, string] = ['b-v1', 'b', 'v1'];

describe('the service graph', () => {
  it('has a node per proxy workload and ServiceEntry host before any traffic, and no edges', () => {
    const g = buildGraph({ reading: emptyReading(), proxies, resources });
    expect(g.nodes.map((n) => [n.id, n.kind, n.label])).toEqual([
      ['external:api.partner.example', 'external', 'api.partner.example'],
      ['workload:a-v1', 'workload', 'a v1'],
      ['workload:b-v1', 'workload', 'b v1'],
      ['workload:b-v2', 'workload', 'b v2'],
      ['workload:istio-ingressgateway', 'ingress', 'istio-ingressgateway'],
    ]);
    expect(g.edges).toEqual([]);
  });

  it('sums an edge over codes, counts 5xx, colours by health and marks mTLS seen by the destination', () => {
    const reading = emptyReading();
    reading.requests.push(
      req(ingress, a, '200', 9),
      req(ingress, a, '503', 1),
      req(a, b1, '200', 4),
      req(a, b1, '200', 4, { reporter: 'destination', connection_security_policy: 'mutual_tls' }),
      // Refused before routing: no destination at all; the egress counters show it instead.
      req(b1, ['unknown', 'unknown', 'unknown'], '403', 1),
    );
    const g = buildGraph({ reading, proxies, resources });
    const edge = (id: string) => g.edges.find((e) => e.id === id);
    expect(edge('workload:istio-ingressgateway->workload:a-v1')).toMatchObject({
      rps: 10,
      errorRate: 0.1,
      health: 'failing',
    });
    expect(edge('workload:a-v1->workload:b-v1')).toMatchObject({
      rps: 4,
      errorRate: 0,
      health: 'healthy',
      mtls: true,
    });
    expect(g.edges).toHaveLength(2);
    expect(g.nodes.find((n) => n.id === 'workload:a-v1')).toMatchObject({ rps: 10, health: 'failing' });
    // Nobody calls the ingress from inside the mesh: it shows how its own calls go.
    expect(g.nodes.find((n) => n.id === 'workload:istio-ingressgateway')?.health).toBe('failing');
  });

  it('computes p99 from bucket rates like histogram_quantile', () => {
    expect(
      quantile(0.99, [
        { le: 1, rate: 0 },
        { le: 5, rate: 10 },
        { le: Number.POSITIVE_INFINITY, rate: 10 },
      ]),
    ).toBeCloseTo(4.96);
    expect(
      quantile(0.5, [
        { le: 10, rate: 2 },
        { le: Number.POSITIVE_INFINITY, rate: 4 },
      ]),
    ).toBe(10);
    expect(quantile(0.99, [{ le: Number.POSITIVE_INFINITY, rate: 0 }])).toBeUndefined();
    const reading = emptyReading();
    reading.requests.push(req(a, b1, '200', 10));
    for (const [le, value] of [
      ['1', 5],
      ['5', 10],
      ['+Inf', 10],
    ] as const)
      reading.buckets.push({ labels: { ...req(a, b1, '200', 0).labels, le }, value });
    expect(buildGraph({ reading, proxies, resources }).edges[0]?.p99Ms).toBeCloseTo(4.9, 1);
  });

  it('draws a denied egress destination from the proxy that refused it', () => {
    const reading = emptyReading();
    reading.egressDenied.push({
      labels: { proxy_id: 'b-1', workload: 'b-v1', host: 'example.org', reason: 'host_not_allowed' },
      total: 3,
      rate: 0.1,
    });
    const g = buildGraph({ reading, proxies, resources });
    expect(g.nodes.find((n) => n.id === 'denied:example.org')).toMatchObject({
      kind: 'denied',
      label: 'example.org',
    });
    expect(g.edges).toEqual([
      expect.objectContaining({
        source: 'workload:b-v1',
        target: 'denied:example.org',
        denied: { total: 3, reasons: ['host_not_allowed'] },
      }),
    ]);
  });

  it('marks a service version whose subset lost an endpoint, as its least lucky caller counts', () => {
    const reading = emptyReading();
    const gauge = (proxy: string, cluster: string, value: number): Series => ({
      labels: { proxy_id: proxy, cluster },
      value,
    });
    reading.totalEndpoints.push(
      gauge('a-1', 'outbound|80|v1|b', 2),
      gauge('ingress-1', 'outbound|80|v1|b', 2),
    );
    reading.healthyEndpoints.push(
      gauge('a-1', 'outbound|80|v1|b', 1),
      gauge('ingress-1', 'outbound|80|v1|b', 2),
    );
    const g = buildGraph({ reading, proxies, resources });
    expect(g.nodes.find((n) => n.id === 'workload:b-v1')).toMatchObject({
      endpoints: { healthy: 1, total: 2 },
      health: 'degraded',
    });
    expect(g.nodes.find((n) => n.id === 'workload:b-v2')?.endpoints).toBeUndefined();
  });

  it('names health from rate and 5xx share', () => {
    expect([healthOf(0, 0), healthOf(1, 0), healthOf(1, 0.01), healthOf(1, 0.1)]).toEqual([
      'idle',
      'healthy',
      'degraded',
      'failing',
    ]);
  });
});
