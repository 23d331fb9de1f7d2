// Validation: every supported field is accepted; mistyped, unknown and dangling references are refused
// with the file, the document, the resource and the field path.

import { describe, expect, it } from 'vitest';
import { Errors } from '../errors.ts';
import { validateAll } from './references.ts';
import { formatIssue } from './validate.ts';

const KITCHEN_SINK = `
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: { name: gw, namespace: default, labels: { team: edge }, annotations: { note: x } }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: ["*.example.com", "default/shop.test"]
      name: main
---
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: { name: egress-gw }
spec:
  selector: { istio: egressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP2 }
      hosts: ["ext.example.org"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: everything }
spec:
  hosts: [shop.test, reviews]
  gateways: [gw, mesh]
  http:
    - name: r1
      match:
        - name: m1
          uri: { exact: /a }
          method: { exact: GET }
          headers: { x-user: { prefix: bob }, x-any: {} }
          withoutHeaders: { x-debug: { exact: "1" } }
          queryParams: { q: { regex: "^v[0-9]+$" } }
        - uri: { regex: "^/b/.*" }
      route:
        - destination: { host: reviews, subset: v1, port: { number: 80 } }
          weight: 75
        - destination: { host: reviews.default.svc.cluster.local, subset: v2 }
          weight: 25
      timeout: 1.5s
      retries: { attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,gateway-error,connect-failure,reset,503" }
      fault:
        delay: { fixedDelay: 100ms, percentage: { value: 10 } }
        abort: { httpStatus: 503, percentage: { value: 1.5 } }
      mirror: { host: reviews, subset: v2 }
      mirrorPercentage: { value: 5 }
      rewrite: { uri: /v2/, authority: reviews.internal }
      headers:
        request: { set: { X-A: "1" }, add: { x-b: "2" }, remove: [x-c] }
        response: { set: { x-d: "1" }, remove: [server] }
    - name: fallback
      directResponse: { status: 404, body: { string: nope } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash: { httpCookie: { name: session, ttl: 1h, path: / } }
    connectionPool:
      tcp: { maxConnections: 10, connectTimeout: 1s }
      http: { http1MaxPendingRequests: 5, http2MaxRequests: 20, maxRetries: 2, idleTimeout: 3s }
    outlierDetection:
      consecutive5xxErrors: 3
      consecutiveGatewayErrors: 2
      interval: 1s
      baseEjectionTime: 10s
      maxEjectionPercent: 50
  subsets:
    - name: v1
      labels: { version: v1 }
      trafficPolicy: { loadBalancer: { simple: RANDOM } }
    - name: v2
      labels: { version: v2 }
      trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user } } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: other }
spec:
  host: other
  trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext }
spec:
  hosts: [ext.example.org]
  ports:
    - { number: 80, name: http, protocol: HTTP, targetPort: 8080 }
    - { number: 443, name: https, protocol: HTTPS }
  location: MESH_EXTERNAL
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: legacy }
spec:
  hosts: [legacy]
  ports: [{ number: 80, name: http }]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints:
    - { address: 10.0.0.1, ports: { http: 9000 }, labels: { version: v1 }, weight: 2 }
  workloadSelector: { labels: { app: legacy-vm } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-1 }
spec:
  address: 10.0.0.9
  ports: { http: 8080 }
  labels: { app: reviews, version: v1 }
  weight: 3
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default }
spec:
  workloadSelector: { labels: { app: reviews } }
  outboundTrafficPolicy: { mode: ALLOW_ANY }
---
apiVersion: strait.dev/v1alpha1
kind: HealthCheck
metadata: { name: reviews }
spec:
  host: reviews
  path: /healthz
  interval: 2s
  timeout: 1s
  healthyThreshold: 1
  unhealthyThreshold: 2
  expectedStatuses: [{ start: 200, end: 299 }]
  jitter: 100ms
---
apiVersion: strait.dev/v1alpha1
kind: RateLimit
metadata: { name: per-route }
spec:
  targetRef: { kind: VirtualService, name: everything }
  route: r1
  tokenBucket: { maxTokens: 10, tokensPerFill: 5, fillInterval: 1m }
---
apiVersion: strait.dev/v1alpha1
kind: RateLimit
metadata: { name: per-gateway }
spec:
  targetRef: { kind: Gateway, name: gw }
  tokenBucket: { maxTokens: 100, tokensPerFill: 100, fillInterval: 1s }
---
apiVersion: strait.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh }
spec:
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
  egressGateway: { workload: istio-egressgateway }
  accessLog: false
`;

const BASE_DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: b }
spec:
  host: service-b
  subsets: [{ name: v1, labels: { version: v1 } }]
`;

function check(files: Record<string, string>) {
  return validateAll(new Map(Object.entries(files)));
}

function oneIssue(files: Record<string, string>) {
  const { issues } = check(files);
  expect(issues.length).toBeGreaterThan(0);
  return { first: issues[0], lines: issues.map(formatIssue) };
}

describe('validation', () => {
  it('accepts every supported field', () => {
    const { resources, issues } = check({ 'all.yaml': KITCHEN_SINK });
    expect(issues.map(formatIssue)).toEqual([]);
    expect(resources.map((r) => r.kind)).toEqual([
      'Gateway',
      'Gateway',
      'VirtualService',
      'DestinationRule',
      'DestinationRule',
      'ServiceEntry',
      'ServiceEntry',
      'WorkloadEntry',
      'Sidecar',
      'HealthCheck',
      'RateLimit',
      'RateLimit',
      'MeshConfig',
    ]);
  });

  it('refuses a mistyped field with file, document, resource and path', () => {
    const text = `${BASE_DR}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [service-b]
  http:
    - route: [{ destination: { host: service-b } }]
      timeout: 5
`;
    const { first, lines } = oneIssue({ 'b.yaml': text });
    expect(first?.error).toBe(Errors.CONFIG_INVALID);
    expect(lines[0]).toMatch(
      /^b\.yaml: document 2 \(VirtualService b\): spec\.http\[0\]\.timeout: expected string/,
    );
  });

  it('refuses a malformed duration, naming what was expected', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [service-b]
  http: [{ route: [{ destination: { host: service-b } }], timeout: 5 seconds }]
`;
    const { lines } = oneIssue({ 'b.yaml': text });
    expect(lines[0]).toContain('spec.http[0].timeout: expected a duration like 100ms, 2s or 1m');
  });

  it('says an Istio field Strait does not support yet is one, naming what is supported there', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [service-b]
  http:
    - route: [{ destination: { host: service-b } }]
      corsPolicy: { allowOrigins: [{ exact: "*" }] }
`;
    const { first, lines } = oneIssue({ 'b.yaml': text });
    expect(first?.error).toBe(Errors.CONFIG_UNSUPPORTED);
    expect(lines[0]).toMatch(
      /^b\.yaml: document 1 \(VirtualService b\): spec\.http\[0\]\.corsPolicy: "corsPolicy" is an Istio field that Strait does not support yet; supported here: name, match, route, /,
    );
  });

  it('says "did you mean" for a typo one or two edits from a supported field, at any depth', () => {
    const vs = (route: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [service-b]
  http:
    - ${route}
`;
    const cases: [string, string, string][] = [
      [
        'route: [{ destination: { host: service-b }, weigth: 100 }]',
        'spec.http[0].route[0].weigth',
        'weight',
      ],
      [
        'route: [{ destination: { host: service-b, subet: v1 } }]',
        'spec.http[0].route[0].destination.subet',
        'subset',
      ],
      ['route: [{ destination: { host: b } }]\n      timeuot: 1s', 'spec.http[0].timeuot', 'timeout'],
      [
        'route: [{ destination: { host: b } }]\n      match: [{ headers: { x-user: { exakt: a } } }]',
        'spec.http[0].match[0].headers.x-user.exakt',
        'exact',
      ],
      [
        'route: [{ destination: { host: b } }]\n      retries: { attempts: 2, retryon: 5xx }',
        'spec.http[0].retries.retryon',
        'retryOn',
      ],
    ];
    for (const [route, path, suggestion] of cases) {
      const { first, lines } = oneIssue({ 'b.yaml': vs(route) });
      expect(first?.error, route).toBe(Errors.CONFIG_UNKNOWN_FIELD);
      expect(lines[0]).toBe(
        `b.yaml: document 1 (VirtualService b): ${path}: unknown field; did you mean "${suggestion}"?`,
      );
    }
    const dr = BASE_DR.replace(
      'host: service-b',
      'host: service-b\n  trafficPolicy: { outlierDetection: { consecutive5xxError: 3 } }',
    );
    expect(oneIssue({ 'd.yaml': dr }).lines[0]).toContain(
      'spec.trafficPolicy.outlierDetection.consecutive5xxError: unknown field; did you mean "consecutive5xxErrors"?',
    );
    expect(
      oneIssue({
        'm.yaml': BASE_DR.replace('metadata: { name: b }', 'metadata: { name: b, lables: { a: b } }'),
      }).lines[0],
    ).toContain('metadata.lables: unknown field; did you mean "labels"?');
  });

  it('tells a typo of an unsupported Istio field, and a name that is neither, from both', () => {
    const text = (field: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [service-b]
  ${field}: []
`;
    expect(oneIssue({ 'b.yaml': text('exportTo') }).lines[0]).toContain(
      'spec.exportTo: "exportTo" is an Istio field that Strait does not support yet; supported here: hosts, gateways, http',
    );
    const istioTypo = oneIssue({ 'b.yaml': text('exportTooo') });
    expect(istioTypo.first?.error).toBe(Errors.CONFIG_UNKNOWN_FIELD);
    expect(istioTypo.lines[0]).toContain(
      'spec.exportTooo: unknown field; did you mean "exportTo"? (an Istio field that Strait does not support yet)',
    );
    expect(oneIssue({ 'b.yaml': text('colour') }).lines[0]).toContain(
      'spec.colour: unknown field (Istio has no such field here); supported here: hosts, gateways, http',
    );
  });

  it('refuses unknown top-level fields, kinds and API versions', () => {
    expect(oneIssue({ 'x.yaml': `${BASE_DR}status: {}\n` }).lines[0]).toContain(
      '(DestinationRule b): status: "status" is an Istio field that Strait does not support yet',
    );
    expect(oneIssue({ 'x.yaml': `${BASE_DR}sepc: {}\n` }).lines[0]).toContain(
      '(DestinationRule b): sepc: unknown field; did you mean "spec"?',
    );
    expect(
      oneIssue({ 'x.yaml': 'apiVersion: v1\nkind: Service\nmetadata: { name: s }\nspec: {}\n' }).lines[0],
    ).toContain('kind: expected one of Gateway');
    expect(
      oneIssue({ 'x.yaml': BASE_DR.replace('kind: DestinationRule', 'kind: DestinationRuel') }).lines[0],
    ).toContain('kind: unknown kind; did you mean "DestinationRule"?');
    expect(
      oneIssue({ 'x.yaml': BASE_DR.replace('kind: DestinationRule', 'kind: RequestAuthentication') })
        .lines[0],
    ).toContain('kind: RequestAuthentication is an Istio kind that Strait does not support yet');
    const wrongVersion = BASE_DR.replace('networking.istio.io/v1', 'networking.istio.io/v2');
    expect(oneIssue({ 'x.yaml': wrongVersion }).lines[0]).toContain(
      'apiVersion: expected networking.istio.io/v1 or',
    );
  });

  it('refuses a YAML syntax error', () => {
    const { first, lines } = oneIssue({ 'bad.yaml': 'kind: [unclosed\n' });
    expect(first?.error).toBe(Errors.CONFIG_PARSE);
    expect(lines[0]).toMatch(/^bad\.yaml: document 1: \(root\): /);
  });

  it('refuses a subset no DestinationRule defines', () => {
    const text = `${BASE_DR}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [service-b]
  http: [{ route: [{ destination: { host: service-b, subset: v3 } }] }]
`;
    const { first, lines } = oneIssue({ 'b.yaml': text });
    expect(first?.error).toBe(Errors.CONFIG_DANGLING_REF);
    expect(lines[0]).toBe(
      'b.yaml: document 2 (VirtualService b): spec.http[0].route[0].destination.subset: subset "v3" of host "service-b" is not defined by any DestinationRule',
    );
  });

  it('refuses a gateway that does not exist', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: front }
spec:
  hosts: ["*"]
  gateways: [missing-gw]
  http: [{ route: [{ destination: { host: service-a } }] }]
`;
    const { first, lines } = oneIssue({ 'f.yaml': text });
    expect(first?.error).toBe(Errors.CONFIG_DANGLING_REF);
    expect(lines[0]).toContain(
      '(VirtualService front): spec.gateways[0]: gateway "missing-gw" does not exist',
    );
  });

  it('refuses a health check for an unknown host and a rate limit for a missing target', () => {
    const hc = `apiVersion: strait.dev/v1alpha1
kind: HealthCheck
metadata: { name: hc }
spec: { host: nowhere, path: /healthz, interval: 1s, timeout: 1s, healthyThreshold: 1, unhealthyThreshold: 1 }
---
apiVersion: strait.dev/v1alpha1
kind: RateLimit
metadata: { name: rl }
spec:
  targetRef: { kind: VirtualService, name: ghost }
  tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillInterval: 1s }
`;
    const { lines } = oneIssue({ 'h.yaml': `${BASE_DR}---\n${hc}` });
    expect(lines).toEqual([
      'h.yaml: document 2 (HealthCheck hc): spec.host: host "nowhere" is not named by any VirtualService, DestinationRule, ServiceEntry or WorkloadEntry',
      'h.yaml: document 3 (RateLimit rl): spec.targetRef.name: VirtualService "ghost" does not exist',
    ]);
  });

  it('refuses weights that do not add up to 100 and duplicate names across files', () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: b }
spec:
  hosts: [service-b]
  http:
    - route:
        - { destination: { host: service-b }, weight: 50 }
        - { destination: { host: service-b }, weight: 20 }
`;
    expect(oneIssue({ 'v.yaml': vs }).lines[0]).toContain(
      'spec.http[0].route: expected the route weights to add up to 100',
    );
    const dup = oneIssue({ 'a.yaml': BASE_DR, 'b.yaml': BASE_DR });
    expect(dup.lines[0]).toContain(
      'b.yaml: document 1 (DestinationRule b): metadata.name: expected a unique name',
    );
  });

  it('names the item of a JSON list', () => {
    const json = JSON.stringify([
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'x' },
        spec: { host: 'x' },
      },
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'y' },
        spec: { hots: 'y' },
      },
    ]);
    const { lines } = oneIssue({ 'list.yaml': json });
    expect(lines[0]).toMatch(
      /^list\.yaml: document 1 item 2 \(DestinationRule y\): spec\.host: expected string/,
    );
  });
});
