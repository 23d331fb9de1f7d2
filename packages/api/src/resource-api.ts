// The control plane's HTTP API as both sides see it: the paths (port 15010 and the monitoring port 15014)
// and the JSON bodies that cross it, so the control plane, straitctl and the launcher never restate them.
import type { ResourceType } from './resource-types.ts';

/** Every path the control plane serves. Both servers answer GET `ready`. */
export const ApiPaths = {
  /** POST: open a discovery stream (the body is a DiscoveryRequest). */
  discovery: '/v1/discovery',
  /** POST: a proxy's ACK or NACK (an AckMessage). */
  ack: '/v1/discovery/ack',
  /** POST: a CertificateRequest; answered with a CertificateResponse (the join token, or the current certificate). */
  certificates: '/v1/certificates',
  /** GET, PUT/POST, DELETE: configuration resources; `/<kind>[/<name>]` below it. */
  resources: '/v1/resources',
  /** GET: every proxy's ProxyStatus. */
  proxies: '/v1/proxies',
  /** GET `/<proxyId>`: the snapshot the control plane wants that proxy to run. */
  snapshots: '/v1/snapshots',
  /** POST: OTLP/HTTP spans (JSON); GET: recent traces (`?service=&minDurationMs=&limit=`), `/<traceId>` one. */
  traces: '/v1/traces',
  ready: '/ready',
  /** Monitoring port: Prometheus's exposition format. */
  metrics: '/metrics',
  /** Monitoring port: Prometheus HTTP service discovery (a list of TargetGroup). */
  prometheusTargets: '/v1/prometheus/targets',
} as const;

/** `/v1/resources`, `/v1/resources/<kind>` or `/v1/resources/<kind>/<name>`, each part URL-encoded. */
export function resourcePath(kind?: string, name?: string): string {
  if (kind === undefined) return ApiPaths.resources;
  const base = `${ApiPaths.resources}/${encodeURIComponent(kind)}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** `/v1/snapshots/<proxyId>`. */
export function snapshotPath(proxyId: string): string {
  return `${ApiPaths.snapshots}/${encodeURIComponent(proxyId)}`;
}

/** Header naming the input of a PUT/DELETE body in error messages (a file name, usually). */
export const SOURCE_HEADER = 'x-strait-source';

/** A resource as users write it and GET returns it. */
export interface PlainResource {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    /** The store's version of this resource (etcd's revision, or a content hash in a config directory). */
    resourceVersion?: string;
  };
  spec: Record<string, unknown>;
}

/** GET /v1/resources[/<kind>] (one named resource comes back as a PlainResource of its own). */
export interface ResourceList {
  items: PlainResource[];
}

/** PUT or DELETE body that keeps the user's file names, so errors name them: `{sources: [{file, text}]}`. */
export interface SourcesRequest {
  sources: { file: string; text: string }[];
}

export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'deleted';

/** What happened to one resource of a PUT or DELETE. */
export interface ApplyResult {
  kind: string;
  name: string;
  namespace: string;
  action: ApplyAction;
  /** The resource's version after the change (absent once deleted). */
  resourceVersion?: string;
}

/** The answer to PUT/POST/DELETE /v1/resources. */
export interface ApplyResponse {
  results: ApplyResult[];
}

/** SYNCED: the proxy ACKed what the control plane wants it to run; NACKED: it refused the latest push. */
export type SyncStatus = 'SYNCED' | 'STALE' | 'NACKED';

/** One resource a proxy refused in a NACK, and why. */
export interface RejectedResource {
  type: ResourceType;
  name: string;
  error: string;
}

/** What `GET /v1/proxies` reports for one proxy. */
export interface ProxyStatus {
  id: string;
  role: string;
  workload: string;
  namespace: string;
  service?: string;
  version?: string;
  address?: string;
  statsAddress?: string;
  /** The proxy's admin port (host:port), as it reported it; often reachable from its own host only. */
  adminAddress?: string;
  connected: boolean;
  connectedSince?: string;
  /** The version the control plane wants this proxy to run. */
  currentVersion?: string;
  sentVersion?: string;
  ackedVersion?: string;
  ackedAt?: string;
  lastNack?: {
    version: string;
    nonce: string;
    error: string;
    keptVersion: string;
    at: string;
    /** The resources the proxy named as the reason (absent when it could not tell). */
    resources?: RejectedResource[];
  };
  lastPushLatencyMs?: number;
  status: SyncStatus;
  /** The control-plane replica the proxy's stream is open to (or was registered through, when not here). */
  replica?: string;
}

/** The answer to GET /v1/proxies. */
export interface ProxyStatusList {
  proxies: ProxyStatus[];
}

/**
 * One row per proxy from several control-plane replicas' lists (each reports the proxies connected to it):
 * where two report the same proxy (one it left, one it moved to), the one it is connected to wins.
 */
export function mergeProxyStatuses(lists: readonly (readonly ProxyStatus[])[]): ProxyStatus[] {
  const byId = new Map<string, ProxyStatus>();
  for (const list of lists)
    for (const p of list) {
      const seen = byId.get(p.id);
      if (!seen || (!seen.connected && p.connected)) byId.set(p.id, p);
    }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** A write refused because a resource is no longer at the resourceVersion the writer read. */
export interface VersionConflict {
  kind: string;
  name: string;
  namespace: string;
  /** The resourceVersion the request carried. */
  sent: string;
  /** The resource's version now; absent when it no longer exists. */
  current?: string;
}

/** Every error answer: the catalogue code, its message with the detail, and the detail alone. */
export interface ErrorBody {
  error: { code: string; message: string; detail?: string; conflicts?: VersionConflict[] };
}

/** Response header naming the control-plane replica that answered (on every API answer and stream). */
export const REPLICA_HEADER = 'x-strait-replica';

/** One group of Prometheus HTTP service discovery (GET /v1/prometheus/targets on the monitoring port). */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}
