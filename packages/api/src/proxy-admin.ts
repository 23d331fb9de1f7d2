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
