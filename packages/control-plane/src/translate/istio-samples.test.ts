// Istio's own sample files (testdata/istio-samples, copied unchanged from istio/istio's bookinfo samples) are
// accepted as they are and translated: destination-rule-all-mtls.yaml keeps bookinfo's hops mutual TLS with
// their subsets; egress-rule-google-apis.yaml's VirtualService sends a sidecar's port-80 requests to
// www.googleapis.com:443 (match.port), through the egress gateway.
import { readFileSync } from 'node:fs';
import type { NodeInfo } from '@strait/api';
import { validateAll } from '@strait/api/resources';
import { describe, expect, it } from 'vitest';
import { MESH_NODES } from '../testing/mesh-nodes.ts';
import { translate } from './snapshot.ts';

const SAMPLES = new URL('../testdata/istio-samples/', import.meta.url);
const sample = (file: string) => readFileSync(new URL(file, SAMPLES), 'utf8');

const MESH_CONFIG = `apiVersion: strait.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec:
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
  egressGateway: { workload: istio-egressgateway }
`;

function bookinfoSidecar(service: string, version: string, n: number): NodeInfo {
  return {
    id: `${service}-${version}-1`,
    role: 'sidecar',
    workload: `${service}-${version}`,
    namespace: 'default',
    service,
    version,
    address: `127.0.191.${200 + n}`,
  };
}

const BOOKINFO: NodeInfo[] = [
  bookinfoSidecar('productpage', 'v1', 1),
  bookinfoSidecar('reviews', 'v1', 2),
  bookinfoSidecar('reviews', 'v2', 3),
  bookinfoSidecar('reviews', 'v3', 4),
  bookinfoSidecar('ratings', 'v1', 5),
  bookinfoSidecar('details', 'v1', 6),
];

function accepted(files: Record<string, string>) {
  const { resources, issues } = validateAll(new Map(Object.entries(files)));
  expect(issues).toEqual([]);
  return resources;
}

function snapshotOf(resources: ReturnType<typeof accepted>, proxies: NodeInfo[], id: string) {
  const node = proxies.find((p) => p.id === id) as NodeInfo;
  return translate({ resources, proxies, security: { trustDomain: 'cluster.local' } }, node);
}

describe("Istio's samples", () => {
  it('destination-rule-all-mtls.yaml: accepted; every bookinfo cluster and subset cluster is ISTIO_MUTUAL', () => {
    const resources = accepted({
      'destination-rule-all-mtls.yaml': sample('destination-rule-all-mtls.yaml'),
    });
    expect(resources.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual([
      'DestinationRule/productpage',
      'DestinationRule/reviews',
      'DestinationRule/ratings',
      'DestinationRule/details',
    ]);
    const proxies = [...MESH_NODES, ...BOOKINFO];
    const snapshot = snapshotOf(resources, proxies, 'productpage-v1-1');
    // Strait makes a subset's cluster once a route names it; the service's own cluster carries the rule.
    const reviews = snapshot.clusters.find((c) => c.name === 'outbound|80||reviews');
    expect(reviews?.tls).toEqual({
      mode: 'ISTIO_MUTUAL',
      subjectAltNames: ['spiffe://cluster.local/ns/default/sa/reviews'],
    });
    expect(reviews?.endpoints.map((e) => e.address).sort()).toEqual([
      '127.0.191.202',
      '127.0.191.203',
      '127.0.191.204',
    ]);
    for (const service of ['details', 'ratings'])
      expect(snapshot.clusters.find((c) => c.name === `outbound|80||${service}`)?.tls?.mode).toBe(
        'ISTIO_MUTUAL',
      );
  });

  it('egress-rule-google-apis.yaml: accepted; port 80 routed to the :443 cluster by match.port', () => {
    const resources = accepted({
      'mesh.yaml': MESH_CONFIG,
      'egress-rule-google-apis.yaml': sample('egress-rule-google-apis.yaml'),
    });
    expect(resources.map((r) => r.kind).sort()).toEqual([
      'DestinationRule',
      'MeshConfig',
      'ServiceEntry',
      'VirtualService',
    ]);
    // The sidecar: the VirtualService's port-80 route sends to the 443 cluster (through the egress gateway).
    const sidecar = snapshotOf(resources, MESH_NODES, 'service-a-v1-1');
    const routes = sidecar.listeners
      .flatMap((l) => l.virtualHosts)
      .filter((vh) => vh.domains.includes('www.googleapis.com'))
      .flatMap((vh) => vh.routes);
    const byPort = routes.find((r) => r.match.port === 80);
    expect(byPort?.route?.clusters.map((c) => c.cluster)).toEqual(['outbound|443||www.googleapis.com']);
    const toGateway = sidecar.clusters.find((c) => c.name === 'outbound|443||www.googleapis.com');
    expect(toGateway?.forwardProxy).toBe(true);
    expect(toGateway?.tls?.mode).toBe('ISTIO_MUTUAL');
    // The egress gateway lets both of the ServiceEntry's ports out.
    const egress = snapshotOf(resources, MESH_NODES, 'istio-egressgateway-1');
    expect(egress.egress?.allow.find((r) => r.host === 'www.googleapis.com')?.ports).toEqual([80, 443]);
  });
});
