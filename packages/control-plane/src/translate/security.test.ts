// PeerAuthentication's resolution by Istio's rules (workload over namespace over mesh, port level over the
// workload's own, UNSET inherits, PERMISSIVE by default), and DestinationRule TLS settings on clusters.
import type { NodeInfo, UpstreamTls } from '@strait/api';
import { type ConfigIssue, type Resource, validateDocument } from '@strait/api/resources';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { applyClientTls, peerAuthenticationMode } from './security.ts';

function validate(text: string): { resources: Resource[]; issues: ConfigIssue[] } {
  const resources: Resource[] = [];
  const issues: ConfigIssue[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    const value = d.toJS();
    if (!value) return;
    const out = validateDocument({ value, origin: { file: 'pa.yaml', document: i + 1 } });
    if (out.resource) resources.push(out.resource);
    issues.push(...out.issues);
  });
  return { resources, issues };
}

function policies(text: string): Resource<'PeerAuthentication'>[] {
  const { resources, issues } = validate(text);
  expect(issues).toEqual([]);
  return resources as Resource<'PeerAuthentication'>[];
}

const b: NodeInfo = {
  id: 'b',
  role: 'sidecar',
  workload: 'service-b-v1',
  namespace: 'default',
  service: 'service-b',
  version: 'v1',
};
const a: NodeInfo = { ...b, id: 'a', workload: 'service-a-v1', service: 'service-a' };
const other: NodeInfo = { ...a, id: 'o', namespace: 'shop' };

const pa = (name: string, ns: string, spec: string) =>
  `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: ${name}, namespace: ${ns} }\nspec: ${spec}\n---\n`;

describe('peerAuthenticationMode', () => {
  it('is PERMISSIVE when no policy applies', () => {
    expect(peerAuthenticationMode([], b, 8080)).toBe('PERMISSIVE');
  });

  it('takes the mesh-wide policy from the root namespace, a namespace policy over it, a workload policy over both', () => {
    const list = policies(
      pa('default', 'istio-system', '{ mtls: { mode: STRICT } }') +
        pa('default', 'shop', '{ mtls: { mode: PERMISSIVE } }') +
        pa('b-off', 'default', '{ selector: { matchLabels: { app: service-b } }, mtls: { mode: DISABLE } }'),
    );
    expect(peerAuthenticationMode(list, a, 8080)).toBe('STRICT');
    expect(peerAuthenticationMode(list, other, 8080)).toBe('PERMISSIVE');
    expect(peerAuthenticationMode(list, b, 8080)).toBe('DISABLE');
  });

  it('lets portLevelMtls set one port, and UNSET inherit', () => {
    const list = policies(
      pa('default', 'istio-system', '{ mtls: { mode: STRICT } }') +
        pa(
          'b',
          'default',
          "{ selector: { matchLabels: { app: service-b } }, mtls: { mode: UNSET }, portLevelMtls: { '8080': { mode: PERMISSIVE } } }",
        ),
    );
    expect(peerAuthenticationMode(list, b, 8080)).toBe('PERMISSIVE');
    expect(peerAuthenticationMode(list, b, 9090)).toBe('STRICT');
  });

  it('refuses portLevelMtls without a selector, as Istio does', () => {
    const { issues } = validate(pa('x', 'default', "{ portLevelMtls: { '8080': { mode: DISABLE } } }"));
    expect(issues.map((i) => i.message).join()).toContain('portLevelMtls needs a selector');
  });
});

describe('applyClientTls', () => {
  const mesh: UpstreamTls = {
    mode: 'ISTIO_MUTUAL',
    subjectAltNames: ['spiffe://cluster.local/ns/default/sa/b'],
  };

  it('DISABLE turns the mesh TLS off; ISTIO_MUTUAL keeps it; a port-level setting wins for its port', () => {
    const off = { tls: mesh };
    applyClientTls(off, { tls: { mode: 'DISABLE' } }, 80, mesh);
    expect(off.tls).toBeUndefined();
    const on: { tls?: UpstreamTls } = {};
    applyClientTls(on, { tls: { mode: 'ISTIO_MUTUAL' } }, 80, mesh);
    expect(on.tls).toEqual(mesh);
    const port = { tls: mesh };
    applyClientTls(
      port,
      {
        tls: { mode: 'ISTIO_MUTUAL' },
        portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'DISABLE' } }],
      },
      80,
      mesh,
    );
    expect(port.tls).toBeUndefined();
  });

  it("SIMPLE originates TLS with the host's name as SNI unless the rule names one, but not on the hop to the egress gateway", () => {
    const simple: { tls?: UpstreamTls } = {};
    applyClientTls(
      simple,
      { portLevelSettings: [{ port: { number: 443 }, tls: { mode: 'SIMPLE' } }] },
      443,
      undefined,
      false,
      'www.example.com',
    );
    expect(simple.tls).toEqual({ mode: 'SIMPLE', sni: 'www.example.com' });
    const hop = { tls: mesh };
    applyClientTls(hop, { tls: { mode: 'SIMPLE', sni: 'x' } }, 443, mesh, true, 'www.example.com');
    expect(hop.tls).toEqual(mesh);
  });

  it('SIMPLE carries the CA bundle path (caCertificates) to the proxy that originates', () => {
    const cluster: { tls?: UpstreamTls } = {};
    applyClientTls(
      cluster,
      { tls: { mode: 'SIMPLE', sni: 'api.example.com', caCertificates: '/etc/strait/egress-ca.pem' } },
      443,
      undefined,
      false,
      'api.example.com',
    );
    expect(cluster.tls).toEqual({
      mode: 'SIMPLE',
      sni: 'api.example.com',
      caCertificates: '/etc/strait/egress-ca.pem',
    });
  });
});
