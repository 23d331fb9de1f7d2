// Host names: Istio lets a mesh service be written short (service-b), with its namespace
// (service-b.default) or in full (service-b.default.svc.cluster.local); all mean the same service.

const CLUSTER_SUFFIX = '.svc.cluster.local';

/** The short form of a host when it names a mesh service in `namespace`, otherwise the host itself. */
export function canonicalHost(host: string, namespace = 'default'): string {
  let h = host.toLowerCase();
  if (h.endsWith(CLUSTER_SUFFIX)) h = h.slice(0, -CLUSTER_SUFFIX.length);
  else if (h.endsWith('.svc')) h = h.slice(0, -'.svc'.length);
  const parts = h.split('.');
  if (parts.length === 2 && (parts[1] === namespace || parts[1] === 'default')) return parts[0] as string;
  return h;
}

/** The domains a sidecar's outbound virtual host for a mesh service answers. */
export function meshServiceDomains(service: string, namespace = 'default'): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}${CLUSTER_SUFFIX}`];
}

/** Whether a host pattern (`*`, `*.example.com` or exact; an `ns/` prefix is ignored) covers a host. */
export function hostPatternCovers(pattern: string, host: string): boolean {
  const p = stripNamespace(pattern).toLowerCase();
  const h = host.toLowerCase();
  if (p === '*' || p === h) return true;
  if (p.startsWith('*.')) return h.endsWith(p.slice(1)) || (h.startsWith('*.') && h.endsWith(p.slice(1)));
  return false;
}

/** `ns/name` -> `name`; `./name` -> `name`. */
export function stripNamespace(ref: string): string {
  const slash = ref.indexOf('/');
  return slash >= 0 ? ref.slice(slash + 1) : ref;
}

/** The namespace part of an `ns/name` reference, or the fallback. */
export function refNamespace(ref: string, fallback: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return fallback;
  const ns = ref.slice(0, slash);
  return ns === '.' || ns === '' ? fallback : ns;
}
