// Istio's Telemetry resource and MeshConfig's extensionProviders: accepted as Istio users write them, and
// refused, with the field named, where they are wrong.
import { describe, expect, it } from 'vitest';
import { formatIssue, validateAll } from './index.ts';

const MESH = `apiVersion: strait.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec:
  extensionProviders:
    - name: otel
      opentelemetry: { service: collector.observability, port: 4318, http: { path: /v1/traces, timeout: 5s } }
  defaultProviders: { tracing: [otel] }
`;

const TELEMETRY = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing:
    - providers: [{ name: otel }]
      randomSamplingPercentage: 100
---
apiVersion: telemetry.istio.io/v1alpha1
kind: Telemetry
metadata: { name: quiet-b, namespace: default }
spec:
  selector: { matchLabels: { app: service-b } }
  tracing: [{ disableSpanReporting: true }]
`;

function lines(files: Record<string, string>): string[] {
  return validateAll(new Map(Object.entries(files))).issues.map(formatIssue);
}

describe('Telemetry and tracing providers', () => {
  it('accepts Telemetry (v1 and v1alpha1) and an OpenTelemetry provider', () => {
    const { resources, issues } = validateAll(
      new Map([
        ['mesh.yaml', MESH],
        ['t.yaml', TELEMETRY],
      ]),
    );
    expect(issues.map(formatIssue)).toEqual([]);
    expect(resources.map((r) => r.kind)).toEqual(['MeshConfig', 'Telemetry', 'Telemetry']);
  });

  it('refuses a provider that MeshConfig does not define, naming the field', () => {
    const t = TELEMETRY.replace('name: otel', 'name: zipkin');
    expect(lines({ 'mesh.yaml': MESH, 't.yaml': t })).toEqual([
      't.yaml: document 1 (Telemetry mesh-default): spec.tracing[0].providers[0].name: provider "zipkin" is not one of MeshConfig\'s extensionProviders (otel)',
    ]);
    const mesh = MESH.replace('tracing: [otel]', 'tracing: [jaeger]');
    expect(lines({ 'mesh.yaml': mesh })).toEqual([
      'mesh.yaml: document 1 (MeshConfig mesh): spec.defaultProviders.tracing[0]: provider "jaeger" is not one of spec.extensionProviders (otel)',
    ]);
  });

  it('refuses a sampling percentage out of range, a wrong apiVersion and unsupported fields', () => {
    expect(lines({ 'mesh.yaml': MESH, 't.yaml': TELEMETRY.replace('100', '101') })).toEqual([
      't.yaml: document 1 (Telemetry mesh-default): spec.tracing[0].randomSamplingPercentage: Too big: expected number to be <=100',
    ]);
    expect(
      lines({ 't.yaml': TELEMETRY.replace('telemetry.istio.io/v1\n', 'networking.istio.io/v1\n') })[0],
    ).toContain('apiVersion: expected telemetry.istio.io/v1 or telemetry.istio.io/v1alpha1 for Telemetry');
    const grpc = MESH.replace('http: { path: /v1/traces, timeout: 5s }', 'grpc: {}');
    expect(lines({ 'mesh.yaml': grpc })).toEqual([
      'mesh.yaml: document 1 (MeshConfig mesh): spec.extensionProviders[0].opentelemetry.grpc: "grpc" is an Istio field that Strait does not support yet; supported here: service, port, http',
    ]);
    const custom = TELEMETRY.replace(
      'randomSamplingPercentage: 100',
      'randomSamplingPercentage: 100\n      customTags: {}',
    );
    expect(lines({ 'mesh.yaml': MESH, 't.yaml': custom })[0]).toContain(
      'spec.tracing[0].customTags: "customTags" is an Istio field that Strait does not support yet',
    );
  });

  it('refuses two Telemetry resources without a selector in one namespace, and duplicate provider names', () => {
    const twice = `${TELEMETRY}---\n${TELEMETRY.split('---')[0]?.replace('mesh-default', 'another')}`;
    expect(lines({ 'mesh.yaml': MESH, 't.yaml': twice })).toEqual([
      't.yaml: document 3 (Telemetry another): spec.selector: expected a selector: Telemetry "mesh-default" already applies to all of namespace istio-system',
    ]);
    const dup = MESH.replace(
      '  defaultProviders',
      '    - name: otel\n      opentelemetry: { service: other, port: 4318 }\n  defaultProviders',
    );
    expect(lines({ 'mesh.yaml': dup })).toEqual([
      'mesh.yaml: document 1 (MeshConfig mesh): spec.extensionProviders[1].name: expected a unique provider name; "otel" is defined twice',
    ]);
  });
});
