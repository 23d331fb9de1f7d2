// A proxy's admin `/clusters` answer as its readers see it (the console, straitctl describe): each host's
// health as the proxy itself judges it, from active health checks, outlier detection and the control plane.
import type { EndpointView } from './console.ts';

/** One host of a proxy's admin /clusters answer (the fields its readers use). */
export interface LiveHost {
  address: string;
  port: number;
  weight?: number;
  /** Eligible for traffic: every health source agrees. */
  healthy: boolean;
  activeHealth?: string;
  ejected?: boolean;
  /** Epoch ms the ejection ends, when ejected. */
  ejectedUntil?: number;
  ejections?: number;
  declaredHealth?: string;
}

export type EndpointHealth = EndpointView['health'];

/** DRAINING (the control plane said so), EJECTED (outlier detection), UNHEALTHY (health checks) or HEALTHY. */
export function liveHealth(h: LiveHost): EndpointHealth {
  if (h.declaredHealth === 'DRAINING') return 'DRAINING';
  if (h.ejected) return 'EJECTED';
  if (!h.healthy) return 'UNHEALTHY';
  return 'HEALTHY';
}

/** Reads the hosts of each cluster from a proxy's admin /clusters (one process, or a --workers primary). */
export function liveHostsOf(answer: unknown): Map<string, LiveHost[]> | undefined {
  let list: unknown = answer;
  const workers = (answer as { workers?: { clusters?: unknown }[] } | null)?.workers;
  if (Array.isArray(workers)) list = workers.find((w) => Array.isArray(w.clusters))?.clusters;
  if (!Array.isArray(list)) return undefined;
  const out = new Map<string, LiveHost[]>();
  for (const c of list as { name?: unknown; hosts?: unknown }[])
    if (typeof c?.name === 'string' && Array.isArray(c.hosts)) out.set(c.name, c.hosts as LiveHost[]);
  return out;
}

/** One X.509 certificate as a proxy's admin /certs describes it (public facts only). */
export interface CertificateDetails {
  serialNumber: string;
  subject: string;
  issuer: string;
  /** The URI SANs (a workload certificate has exactly one, its SPIFFE ID). */
  uriSans: string[];
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** Whole days until notAfter (negative once expired), as Envoy's days_until_expiration. */
  daysUntilExpiration: number;
  /** True while now lies between notBefore and notAfter. */
  valid: boolean;
  /** The certificate itself, PEM. */
  pem: string;
}

/**
 * A secret a proxy holds, named as Istio's SDS names them: `default` is the workload's certificate chain
 * (leaf first), `ROOTCA` the trust bundle it checks peers against.
 */
export interface ProxySecret {
  name: 'default' | 'ROOTCA';
  type: 'Cert Chain' | 'CA';
  /** ACTIVE: what new handshakes present or check against (the only state a proxy reports today). */
  state: 'ACTIVE';
  certificates: CertificateDetails[];
}

/** The admin /certs answer: empty `secrets` when the proxy runs without a mesh identity. */
export interface ProxyCertificates {
  /** The SPIFFE ID the proxy holds, when it holds one. */
  spiffeId?: string;
  /** ms since the epoch the current certificate arrived, and how many this process has had. */
  issuedAt?: number;
  generation?: number;
  secrets: ProxySecret[];
}
