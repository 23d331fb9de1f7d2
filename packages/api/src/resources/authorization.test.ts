// AuthorizationPolicy's validation: Istio's fields accepted in both apiVersions, and what Strait cannot do
// (CUSTOM, request.auth.*, targetRef, an empty source) refused with the field named and why.
import { describe, expect, it } from 'vitest';
import { Errors } from '../errors.ts';
import { loadTexts } from './validate.ts';

function load(spec: string, apiVersion = 'security.istio.io/v1') {
  const text = `apiVersion: ${apiVersion}\nkind: AuthorizationPolicy\nmetadata: { name: p, namespace: foo }\nspec:\n${spec}`;
  return loadTexts(new Map([['ap.yaml', text]]));
}

function refusal(spec: string): { path: string; message: string; code: string } {
  const { issues } = load(spec);
  expect(issues).toHaveLength(1);
  const issue = issues[0] as (typeof issues)[number];
  return { path: issue.path, message: issue.message, code: issue.error.code };
}

describe('AuthorizationPolicy validation', () => {
  it('accepts every supported field, in v1 and v1beta1, with ALLOW as the default action', () => {
    const spec = `  selector: { matchLabels: { app: httpbin } }
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/default/sa/curl", "*/sa/admin"]
            notPrincipals: ["*"]
            namespaces: ["dev*"]
            notNamespaces: ["prod"]
            ipBlocks: ["10.0.0.0/16", "127.0.0.1"]
            notIpBlocks: ["::1/128"]
            remoteIpBlocks: ["192.168.0.0/24"]
            notRemoteIpBlocks: ["192.168.0.9"]
      to:
        - operation:
            hosts: ["*.example.com"]
            notHosts: ["admin.example.com"]
            ports: ["8080"]
            notPorts: ["9090"]
            methods: ["GET", "HEAD"]
            notMethods: ["DELETE"]
            paths: ["/info*", "*/healthz", "/exact"]
            notPaths: ["/admin*"]
      when:
        - key: request.headers[x-token]
          values: ["abc*"]
        - key: source.ip
          notValues: ["10.0.0.1"]
        - { key: remote.ip, values: ["10.0.0.0/8"] }
        - { key: source.principal, values: ["*"] }
        - { key: source.namespace, values: ["foo"] }
        - { key: destination.ip, values: ["127.0.0.1"] }
        - { key: destination.port, values: ["8080"] }
        - { key: connection.sni, values: ["*.local"] }
`;
    for (const version of ['security.istio.io/v1', 'security.istio.io/v1beta1']) {
      const { resources, issues } = load(spec, version);
      expect(issues).toEqual([]);
      expect(resources[0]?.kind).toBe('AuthorizationPolicy');
      expect(resources[0]?.spec).toMatchObject({ action: 'ALLOW' });
    }
  });

  it('accepts the allow-nothing policy (an empty spec) and AUDIT', () => {
    expect(load('  {}\n').issues).toEqual([]);
    expect(load('  action: AUDIT\n  rules: [{}]\n').issues).toEqual([]);
  });

  it('refuses CUSTOM, naming spec.action', () => {
    const r = refusal('  action: CUSTOM\n  rules: [{}]\n');
    expect(r.path).toBe('spec.action');
    expect(r.message).toContain('CUSTOM (an external authorizer) is not supported');
  });

  it('refuses provider and targetRef as Istio fields Strait does not support yet', () => {
    const provider = refusal('  provider: { name: ext-authz }\n');
    expect(provider).toMatchObject({ path: 'spec.provider', code: Errors.CONFIG_UNSUPPORTED.code });
    const target = refusal('  targetRef: { kind: Gateway, name: gw }\n');
    expect(target).toMatchObject({ path: 'spec.targetRef', code: Errors.CONFIG_UNSUPPORTED.code });
  });

  it('refuses request.auth.* conditions and requestPrincipals (no JWT in Strait)', () => {
    const when = refusal('  rules: [{ when: [{ key: "request.auth.claims[iss]", values: [x] }] }]\n');
    expect(when.path).toBe('spec.rules[0].when[0].key');
    expect(when.message).toContain('needs request authentication (JWT)');
    const source = refusal('  rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }]\n');
    expect(source).toMatchObject({
      path: 'spec.rules[0].from[0].source.requestPrincipals',
      code: Errors.CONFIG_UNSUPPORTED.code,
    });
  });

  it('refuses an unknown condition key, a typo with a hint, an empty source and a bad CIDR', () => {
    expect(refusal('  rules: [{ when: [{ key: source.user, values: [x] }] }]\n').message).toContain(
      'unsupported condition key "source.user"',
    );
    expect(refusal('  rules: [{ to: [{ operation: { method: [GET] } }] }]\n')).toMatchObject({
      path: 'spec.rules[0].to[0].operation.method',
      message: 'unknown field; did you mean "methods"?',
    });
    expect(refusal('  rules: [{ from: [{ source: {} }] }]\n').message).toContain(
      'expected at least one field in source',
    );
    expect(refusal('  rules: [{ from: [{ source: { ipBlocks: ["10.0.0.0/x"] } }] }]\n').path).toBe(
      'spec.rules[0].from[0].source.ipBlocks[0]',
    );
    expect(refusal('  rules: [{ when: [{ key: source.ip }] }]\n').message).toBe(
      'expected values or notValues',
    );
  });
});
