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
import type { MeshIndex } from './mesh-index.ts';

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
export function listenerTls(index: MeshIndex, _node: NodeInfo, _port: number): DownstreamTls | undefined {
  if (!index.security) return undefined;
  return { mode: 'PERMISSIVE' };
}
