// Sidecar scoping, as Istio's Sidecar resource does it: which Sidecar applies to a proxy (the one in its
// namespace whose workloadSelector picks it, else the namespace's Sidecar without a selector), the egress
// mode it sets, and which hosts its `egress[].hosts` let the proxy call. A proxy gets routes and clusters
// only for those, so a change to a service it cannot call is no change to its config.
import type { NodeInfo } from '@strait/api';
import { hostPatternCovers, meshServiceDomains, type Resource } from '@strait/api/resources';
import { labelsMatch, type MeshIndex, proxyLabels } from './mesh-index.ts';

export type EgressMode = 'REGISTRY_ONLY' | 'ALLOW_ANY';

/** What one Sidecar (or none) lets a proxy see. */
export interface SidecarScope {
  /** The Sidecar that applies; undefined: none does and every host is visible. */
  sidecar: Resource<'Sidecar'> | undefined;
  mode: EgressMode;
  /** Whether the proxy may call a mesh service (`external` false) or an external host, in its namespace. */
  sees(host: string, namespace: string, external: boolean): boolean;
}

export function meshMode(index: MeshIndex): EgressMode {
  return index.mesh.outboundTrafficPolicy?.mode ?? 'ALLOW_ANY';
}

/** The Sidecar resource that applies to a sidecar proxy, if any. */
export function sidecarFor(index: MeshIndex, node: NodeInfo): Resource<'Sidecar'> | undefined {
  const labels = proxyLabels(node);
  const inNamespace = index.sidecars.filter((s) => s.metadata.namespace === (node.namespace ?? 'default'));
  return (
    inNamespace.find((s) => s.spec.workloadSelector && labelsMatch(s.spec.workloadSelector.labels, labels)) ??
    inNamespace.find((s) => !s.spec.workloadSelector)
  );
}

export function scopeOf(index: MeshIndex, node: NodeInfo): SidecarScope {
  const sidecar = sidecarFor(index, node);
  const mode = sidecar?.spec.outboundTrafficPolicy?.mode ?? meshMode(index);
  const own = node.namespace ?? 'default';
  const hosts = (sidecar?.spec.egress ?? []).flatMap((e) => e.hosts).map((h) => parseEgressHost(h, own));
  if (hosts.length === 0) return { sidecar, mode, sees: () => true };
  return {
    sidecar,
    mode,
    sees(host, namespace, external) {
      // A mesh service answers to its short name, name.namespace and its cluster-local FQDN.
      const names = external ? [host] : meshServiceDomains(host.split('.')[0] as string, namespace);
      return hosts.some(
        (h) =>
          h.namespace(namespace) && names.some((name) => h.dns === '*' || hostPatternCovers(h.dns, name)),
      );
    },
  };
}

/** `ns/dns`: which namespaces it covers (`.` the Sidecar's own, `*` all, `~` none) and the DNS pattern. */
function parseEgressHost(text: string, own: string): { namespace: (ns: string) => boolean; dns: string } {
  const slash = text.indexOf('/');
  const ns = text.slice(0, slash);
  const dns = text.slice(slash + 1).toLowerCase();
  if (ns === '*') return { namespace: () => true, dns };
  if (ns === '~') return { namespace: () => false, dns };
  const wanted = ns === '.' ? own : ns;
  return { namespace: (candidate) => candidate === wanted, dns };
}
