// Mutual TLS in translation, when the control plane runs the mesh's CA: which identity a client must find
// at each mesh destination (its SPIFFE ID, as Istio's auto mTLS expects it), and how each listener takes
// connections (PERMISSIVE unless a PeerAuthentication says otherwise).

import {
  DEFAULT_EGRESS_WORKLOAD,
  type DownstreamTls,
  identityOfNode,
  type NodeInfo,
  spiffeId,
  type UpstreamTls,
} from '@strait/api';
import type { Resource, TrafficPolicy } from '@strait/api/resources';
import { labelsMatch, type MeshIndex, proxyLabels } from './mesh-index.ts';

/** Istio's root namespace: a PeerAuthentication there without a selector covers the whole mesh. */
export const ROOT_NAMESPACE = 'istio-system';

type Mode = DownstreamTls['mode'];

/**
 * The mode a workload's `port` takes connections in, by Istio's rules: a workload's own policy (and its
 * portLevelMtls for the port) over its namespace's over the mesh's; UNSET inherits; PERMISSIVE when
 * nothing says otherwise. Of several at one level the first by name counts.
 */
export function peerAuthenticationMode(
  policies: readonly Resource<'PeerAuthentication'>[],
  node: NodeInfo,
  port: number,
): Mode {
  const ns = node.namespace ?? 'default';
  const labels = proxyLabels(node);
  const sorted = [...policies].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const mesh = sorted.find((p) => p.metadata.namespace === ROOT_NAMESPACE && !p.spec.selector);
  const namespace = sorted.find((p) => p.metadata.namespace === ns && !p.spec.selector);
  const workload = sorted.find(
    (p) => p.metadata.namespace === ns && p.spec.selector && labelsMatch(p.spec.selector.matchLabels, labels),
  );
  let mode: Mode = 'PERMISSIVE';
  const take = (m: string | undefined) => {
    if (m !== undefined && m !== 'UNSET') mode = m as Mode;
  };
  take(mesh?.spec.mtls?.mode);
  take(namespace?.spec.mtls?.mode);
  take(workload?.spec.mtls?.mode);
  take(workload?.spec.portLevelMtls?.[String(port)]?.mode);
  return mode;
}

/** The TLS a client uses toward a mesh service (`host` canonical, in `namespace`), or none. */
export function meshServiceTls(index: MeshIndex, host: string, namespace: string): UpstreamTls | undefined {
  const security = index.security;
  if (!security) return undefined;
  // A service's workloads run as the service account named after it (see identityOfNode).
  const service = host.split('.')[0] as string;
  return {
    mode: 'ISTIO_MUTUAL',
    subjectAltNames: [spiffeId({ trustDomain: security.trustDomain, namespace, serviceAccount: service })],
  };
}

/**
 * A DestinationRule's TLS settings for `port` (a portLevelSettings entry over the policy's own), applied to
 * a cluster: DISABLE sends plain text, ISTIO_MUTUAL keeps the mesh's mTLS (`meshTls`, when the mesh has a
 * CA), SIMPLE originates TLS checked by `sni` or `subjectAltNames` (against `caCertificates` when given). Where the hop is to the egress gateway
 * (`viaEgressGateway`), origination is the gateway's job and the hop stays the mesh's.
 */
export function applyClientTls(
  cluster: { tls?: UpstreamTls },
  policy: TrafficPolicy | undefined,
  port: number,
  meshTls: UpstreamTls | undefined,
  viaEgressGateway = false,
  defaultSni?: string,
): void {
  const settings = policy?.portLevelSettings?.find((p) => p.port.number === port)?.tls ?? policy?.tls;
  if (!settings || viaEgressGateway) return;
  if (settings.mode === 'DISABLE') delete cluster.tls;
  else if (settings.mode === 'ISTIO_MUTUAL') {
    if (meshTls) cluster.tls = meshTls;
  } else {
    const simple: UpstreamTls = { mode: 'SIMPLE' };
    // Envoy sends the host's name as SNI (and checks it) when the rule names none (Istio's auto SNI).
    const sni = settings.sni ?? defaultSni;
    if (sni) simple.sni = sni;
    if (settings.subjectAltNames) simple.subjectAltNames = settings.subjectAltNames;
    if (settings.caCertificates) simple.caCertificates = settings.caCertificates;
    cluster.tls = simple;
  }
}

/** The TLS a sidecar uses toward the egress gateway: the identities of the egress gateways registered. */
export function egressGatewayTls(index: MeshIndex): UpstreamTls | undefined {
  const security = index.security;
  if (!security) return undefined;
  const workload = index.mesh.egressGateway?.workload ?? DEFAULT_EGRESS_WORKLOAD;
  const ids = new Set(
    index.proxies
      .filter((p) => p.role === 'egress' && p.workload === workload)
      .map((p) => spiffeId(identityOfNode(p, security.trustDomain))),
  );
  if (ids.size === 0)
    ids.add(spiffeId({ trustDomain: security.trustDomain, namespace: 'default', serviceAccount: workload }));
  return { mode: 'ISTIO_MUTUAL', subjectAltNames: [...ids].sort() };
}

/** How a listener of `node` on `port` takes connections; undefined without a mesh CA (plain text). */
export function listenerTls(index: MeshIndex, node: NodeInfo, port: number): DownstreamTls | undefined {
  if (!index.security) return undefined;
  return { mode: peerAuthenticationMode(index.peerAuthentications, node, port) };
}
