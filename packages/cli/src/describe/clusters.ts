// A cluster as one proxy sees it for straitctl describe: its endpoints with the health the proxy itself
// reports (admin /clusters) or, failing that, the control plane's, and what the load balancer does with them,
// by the proxy's own rule: below the panic threshold every endpoint is a candidate; none at all is 503 UH.
import {
  type Cluster,
  type EndpointHealth,
  Errors,
  type LiveHost,
  liveHealth,
  ResponseFlags,
} from '@strait/api';

export interface EndpointState {
  address: string;
  port: number;
  weight: number;
  health: EndpointHealth;
  /** The pod behind it, when the control plane named its workload. */
  workload?: string;
  labels: Record<string, string>;
  /** Epoch ms an outlier ejection ends. */
  ejectedUntil?: number;
}

export interface ClusterState {
  name: string;
  /** Istio's cluster name parts: `outbound|80|v1|service-b` is service-b, port 80, subset v1. */
  service?: string;
  subset?: string;
  lbPolicy: string;
  endpoints: EndpointState[];
  healthy: number;
  /** Below this share of healthy endpoints the proxy uses them all (Envoy's panic mode). */
  panicThresholdPercent: number;
  /** Where the health came from. */
  healthSource: 'proxy' | 'control-plane';
  /** Sent to the endpoint as to an HTTP proxy: the egress gateway for a ServiceEntry host. */
  forwardProxy: boolean;
  /** What the proxy does with a request for this cluster now, in a sentence. */
  now: string;
  /** What it would answer if no endpoint were healthy. */
  whenNoneHealthy: string;
}

/** `outbound|80|v1|service-b` -> {service: service-b, subset: v1}; other names give nothing. */
export function clusterParts(name: string): { service?: string; subset?: string } {
  const parts = name.split('|');
  if (parts.length !== 4) return {};
  const out: { service?: string; subset?: string } = {};
  if (parts[3]) out.service = parts[3];
  if (parts[2]) out.subset = parts[2];
  return out;
}

/** The cluster's state; `live` is the proxy's /clusters hosts for it, when the proxy could be asked. */
export function clusterState(cluster: Cluster, live: readonly LiveHost[] | undefined): ClusterState {
  const endpoints: EndpointState[] = cluster.endpoints.map((e) => {
    const seen = live?.find((h) => h.address === e.address && h.port === e.port);
    const state: EndpointState = {
      address: e.address,
      port: e.port,
      weight: e.weight,
      health: seen ? liveHealth(seen) : (e.health ?? 'HEALTHY'),
      labels: e.labels ?? {},
    };
    if (e.workload) state.workload = e.workload;
    if (seen?.ejected && seen.ejectedUntil) state.ejectedUntil = seen.ejectedUntil;
    return state;
  });
  const healthy = endpoints.filter((e) => e.health === 'HEALTHY').length;
  const total = endpoints.length;
  const panic = cluster.panicThresholdPercent;
  const state: ClusterState = {
    name: cluster.name,
    ...clusterParts(cluster.name),
    lbPolicy: cluster.lbPolicy,
    endpoints,
    healthy,
    panicThresholdPercent: panic,
    healthSource: live ? 'proxy' : 'control-plane',
    forwardProxy: cluster.forwardProxy === true,
    now: '',
    whenNoneHealthy: '',
  };
  const uh = `${Errors.NO_HEALTHY_UPSTREAM.status} ${ResponseFlags.NO_HEALTHY_UPSTREAM} (no healthy upstream)`;
  const panicking = (n: number) => n * 100 < panic * total;
  if (cluster.type === 'ORIGINAL_DST') {
    state.now = 'sent to the address the request was for (passthrough)';
    state.whenNoneHealthy = 'not applicable: each request picks its own destination';
  } else if (total === 0) {
    state.now = `no endpoints: ${uh}`;
    state.whenNoneHealthy = uh;
  } else if (healthy === 0 && !panicking(0)) {
    state.now = `no healthy endpoint: ${uh}`;
    state.whenNoneHealthy = uh;
  } else {
    state.now = panicking(healthy)
      ? `${healthy} of ${total} healthy, under the panic threshold of ${panic}%: ${cluster.lbPolicy} over all ${total}, health ignored`
      : `${cluster.lbPolicy} over the ${healthy} healthy of ${total}`;
    state.whenNoneHealthy = panicking(0)
      ? `panic mode: still sent to all ${total} (an endpoint that cannot answer fails as 503 UF or UC, retried as the route says); ${uh} only with no endpoints`
      : uh;
  }
  return state;
}

/** `EJECTED until 12:01:30`, `HEALTHY`, ... */
export function healthText(e: EndpointState): string {
  if (e.health === 'EJECTED' && e.ejectedUntil)
    return `EJECTED until ${new Date(e.ejectedUntil).toISOString().slice(11, 19)}Z`;
  return e.health;
}
