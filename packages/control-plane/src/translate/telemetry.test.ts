// Which tracing a proxy gets: MeshConfig's default provider at Istio's 1 %, overridden by the root
// namespace's Telemetry, then the proxy's namespace's, then a workload-selecting one.
import type { NodeInfo } from '@strait/api';
import { validateAll } from '@strait/api/resources';
import { describe, expect, it } from 'vitest';
import { MESH_NODES } from '../testing/mesh-nodes.ts';
import { indexMesh } from './mesh-index.ts';
import { translate } from './snapshot.ts';
import { tracingFor } from './telemetry.ts';

const MESH = `apiVersion: strait.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec:
  extensionProviders:
    - name: otel
      opentelemetry: { service: 127.0.0.1, port: 15010 }
    - name: jaeger
      opentelemetry: { service: jaeger, port: 4318, http: { path: /otlp/v1/traces } }
`;

const telemetry = (name: string, namespace: string, spec: string) => `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${spec}
`;

/** Every request traced to the `otel` provider, mesh-wide. */
const MESH_WIDE_100 = telemetry(
  'mesh',
  'istio-system',
  '  tracing: [{ providers: [{ name: otel }], randomSamplingPercentage: 100 }]',
);

function indexOf(yaml: string) {
  const { resources, issues } = validateAll(new Map([['t.yaml', yaml]]));
  expect(issues).toEqual([]);
  return indexMesh({ resources, proxies: MESH_NODES });
}

const node = (id: string) => MESH_NODES.find((n) => n.id === id) as NodeInfo;

describe('tracingFor', () => {
  it('is off without a provider, and 1 % with only a default provider', () => {
    expect(tracingFor(indexOf(MESH), node('service-a-v1-1'))).toBeUndefined();
    const withDefault = `${MESH}  defaultProviders: { tracing: [otel] }\n`;
    expect(tracingFor(indexOf(withDefault), node('service-a-v1-1'))).toEqual({
      provider: 'otel',
      samplingPercentage: 1,
      collector: { host: '127.0.0.1', port: 15010, path: '/v1/traces' },
    });
  });

  it('lets the more specific Telemetry override the fields it sets', () => {
    const yaml =
      MESH +
      MESH_WIDE_100 +
      telemetry('ns', 'default', '  tracing: [{ randomSamplingPercentage: 10 }]') +
      telemetry(
        'b',
        'default',
        '  selector: { matchLabels: { app: service-b } }\n  tracing: [{ providers: [{ name: jaeger }] }]',
      ) +
      telemetry(
        'a-off',
        'default',
        '  selector: { matchLabels: { app: service-a, version: v1 } }\n  tracing: [{ disableSpanReporting: true }]',
      );
    const index = indexOf(yaml);
    expect(tracingFor(index, node('service-a-v1-1'))).toBeUndefined();
    expect(tracingFor(index, node('service-b-v1-1'))).toEqual({
      provider: 'jaeger',
      samplingPercentage: 10,
      collector: { host: 'jaeger', port: 4318, path: '/otlp/v1/traces' },
    });
    // The gateways are in another namespace than "default": only the mesh-wide one applies.
    const ingress = node('istio-ingressgateway-1');
    const expected = ingress.namespace === 'default' ? 10 : 100;
    expect(tracingFor(index, ingress)?.samplingPercentage).toBe(expected);
  });

  it('reaches every proxy in its snapshot', () => {
    const yaml = MESH + MESH_WIDE_100;
    const { resources } = validateAll(new Map([['t.yaml', yaml]]));
    for (const n of MESH_NODES) {
      const snapshot = translate({ resources, proxies: MESH_NODES }, n);
      expect(snapshot.telemetry?.tracing?.samplingPercentage).toBe(100);
    }
  });
});
