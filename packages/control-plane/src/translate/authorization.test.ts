// AuthorizationPolicy's scoping in translation (root namespace = mesh, namespace, selector) and how it reaches
// a sidecar's inbound listener and a gateway's listener as plain data.
import type { NodeInfo } from '@strait/api';
import { type Resource, validateAll } from '@strait/api/resources';
import { describe, expect, it } from 'vitest';
import { MESH_NODES } from '../testing/mesh-nodes.ts';
import { policiesFor } from './authorization.ts';
import { translate } from './snapshot.ts';

function policies(yaml: string): Resource<'AuthorizationPolicy'>[] {
  const { resources, issues } = validateAll(new Map([['ap.yaml', yaml]]));
  expect(issues).toEqual([]);
  return resources as Resource<'AuthorizationPolicy'>[];
}

const ap = (name: string, ns: string, spec: string) =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: ${ns} }\nspec: ${spec}\n---\n`;

/** The test mesh's proxies (testdata/mesh), by id. */
function node(id: string): NodeInfo {
  const found = MESH_NODES.find((n) => n.id === id);
  if (!found) throw new Error(`no test node ${id}`);
  return found;
}
const b = { ...node('service-b-v1-1'), appPort: 8080 };
const a = node('service-a-v1-1');
const shop: NodeInfo = { ...a, id: 's', namespace: 'shop' };
const ingress = node('istio-ingressgateway-1');

const LIST = policies(
  ap(
    'deny-all-mesh',
    'istio-system',
    '{ action: DENY, rules: [{ from: [{ source: { ipBlocks: [10.9.9.9] } }] }] }',
  ) +
    ap('ns-default', 'default', '{}') +
    ap(
      'only-b',
      'default',
      '{ selector: { matchLabels: { app: service-b } }, rules: [{ to: [{ operation: { methods: [GET] } }] }] }',
    ) +
    ap(
      'gw',
      'istio-system',
      '{ selector: { matchLabels: { istio: ingressgateway } }, action: DENY, rules: [{}] }',
    ),
);

describe('policiesFor', () => {
  it('applies the root namespace to all, a namespace to its own, a selector to what it picks', () => {
    const names = (node: NodeInfo) => policiesFor(LIST, node).map((p) => `${p.scope}:${p.name}`);
    expect(names(b)).toEqual(['mesh:deny-all-mesh', 'namespace:ns-default', 'workload:only-b']);
    expect(names(a)).toEqual(['mesh:deny-all-mesh', 'namespace:ns-default']);
    expect(names(shop)).toEqual(['mesh:deny-all-mesh']);
    // A root-namespace policy with a selector picks the gateway wherever it runs.
    expect(names(ingress)).toEqual(['mesh:deny-all-mesh', 'namespace:ns-default', 'workload:gw']);
  });

  it('keeps the rules as plain data, without the source/operation wrappers', () => {
    const only = policiesFor(LIST, b).find((p) => p.name === 'only-b');
    expect(only).toEqual({
      name: 'only-b',
      namespace: 'default',
      action: 'ALLOW',
      scope: 'workload',
      rules: [{ to: [{ methods: ['GET'] }] }],
    });
  });
});

describe('translation', () => {
  it("puts the policies on a sidecar's inbound listener with the app's port, and on the gateway's", () => {
    const state = { resources: LIST, proxies: [a, b, ingress] };
    const inbound = translate(state, b).listeners.find((l) => l.kind === 'inbound');
    expect(inbound?.authorization?.destinationPort).toBe(8080);
    expect(inbound?.authorization?.policies.map((p) => p.name)).toEqual([
      'deny-all-mesh',
      'ns-default',
      'only-b',
    ]);
    expect(translate(state, b).listeners.find((l) => l.kind === 'outbound')?.authorization).toBeUndefined();
    const gateway = translate(state, ingress).listeners[0];
    expect(gateway?.authorization?.policies.map((p) => p.name)).toContain('gw');
  });

  it('leaves the listener without authorization when no policy applies, and changes the version when one does', () => {
    const none = translate({ resources: [], proxies: [b] }, b);
    expect(none.listeners.every((l) => l.authorization === undefined)).toBe(true);
    const some = translate({ resources: LIST, proxies: [b] }, b);
    expect(some.version).not.toBe(none.version);
  });
});
