// The mesh console's JSON (port 20001): what the control plane's console server sends the page.
// Free of Node imports, so the browser code type-checks against it (`@strait/api/console`).
import type { RouteRow } from './proxy-config.ts';
import type { ProxyStatus } from './resource-api.ts';

export type { RouteRow } from './proxy-config.ts';
export {
  type TraceDetail,
  type TraceList,
  type TraceSpan,
  type TraceSummary,
  type WaterfallRow,
  waterfall,
} from './traces.ts';

/** Paths of the console server's API; everything else it serves is the page itself. */
export const ConsolePaths = {
  /** GET: the whole ConsoleState once. */
  state: '/api/state',
  /** GET: Server-Sent Events; each `state` event carries a ConsoleState. */
  events: '/api/events',
  /** GET /api/proxies/<id>: one proxy's ProxyDetail. */
  proxy: '/api/proxies/',
  /** GET: recent traces (a TraceList; `?service=&minDurationMs=&limit=`); `/api/traces/<id>`: a TraceDetail. */
  traces: '/api/traces',
} as const;

/** How an edge or node is doing: no traffic, all good, some 5xx, many 5xx (or no healthy endpoint). */
export type Health = 'idle' | 'healthy' | 'degraded' | 'failing';

/** Share of 5xx answers at and above which an edge is `failing` (below it, any 5xx is `degraded`). */
export const FAILING_ERROR_RATE = 0.1;

export type GraphNodeKind = 'ingress' | 'egress' | 'workload' | 'external' | 'denied';

export interface GraphNode {
  id: string;
  kind: GraphNodeKind;
  /** What the page prints: "service-b v2", "istio-ingressgateway", "api.partner.example". */
  label: string;
  workload?: string;
  service?: string;
  version?: string;
  host?: string;
  /** Requests per second arriving at this node. */
  rps: number;
  health: Health;
  /** Healthy and total endpoints of this workload, as its least lucky caller counts them. */
  endpoints?: { healthy: number; total: number };
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** Requests per second over the rate window. */
  rps: number;
  /** Share of 5xx answers (0..1). */
  errorRate: number;
  /** 99th percentile of istio_request_duration_milliseconds, when there were requests. */
  p99Ms?: number;
  health: Health;
  /**
   * True when the destination proxy saw these requests over mutual TLS (connection_security_policy
   * "mutual_tls"); absent while no request was. The page draws a lock.
   */
  mtls?: boolean;
  /** For an edge to a denied egress destination: how many requests were refused, and why. */
  denied?: { total: number; reasons: string[] };
}

export interface GraphView {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Healthy and total endpoints of one cluster, as the proxy itself counts them (its own health checks). */
export interface ClusterHealth {
  cluster: string;
  healthy: number;
  total: number;
}

/** One proxy as the console lists it: the control plane's ProxyStatus fields it shows, and more. */
export interface ProxyView
  extends Pick<
    ProxyStatus,
    | 'id'
    | 'role'
    | 'workload'
    | 'namespace'
    | 'service'
    | 'version'
    | 'address'
    | 'connected'
    | 'status'
    | 'ackedVersion'
    | 'lastPushLatencyMs'
  > {
  /** The config version the control plane wants it to run. */
  wantedVersion?: string;
  lastNack?: { version: string; error: string; at: string };
  /** Per cluster, from the proxy's strait_cluster_*endpoints gauges; empty until its stats are read. */
  clusters: ClusterHealth[];
  /** When its workload certificate expires, once the mesh issues certificates (mTLS). */
  certificateExpiresAt?: string;
}

/** One endpoint as the proxy sees it right now (from its admin /clusters), or as the control plane sent it. */
export interface EndpointView {
  address: string;
  port: number;
  weight: number;
  /** HEALTHY, UNHEALTHY (failed active health checks), EJECTED (outlier detection) or DRAINING. */
  health: 'HEALTHY' | 'UNHEALTHY' | 'EJECTED' | 'DRAINING';
  labels: Record<string, string>;
}

export interface ClusterRow {
  name: string;
  type: string;
  lbPolicy: string;
  healthCheck?: string;
  outlierDetection: boolean;
  endpoints: EndpointView[];
  /** Healthy/total from the proxy's own stats, when known. */
  healthy?: number;
  total?: number;
}

/** `GET /api/proxies/<id>`: what `straitctl proxy-config all` shows, plus live endpoint health. */
export interface ProxyDetail {
  proxy: ProxyView;
  routes: RouteRow[];
  clusters: ClusterRow[];
  /** Where the endpoints' health comes from: the proxy's admin /clusters, or only the control plane. */
  endpointSource: 'proxy' | 'control-plane';
  /** Why the proxy's own view could not be read (its admin port is loopback-only, say). */
  endpointNote?: string;
}

export interface ResourceView {
  kind: string;
  name: string;
  namespace: string;
  /** The file it came from (or was written to), and its document number there. */
  file: string;
  document: number;
  yaml: string;
}

/** One weighted route of a VirtualService: the traffic split, as configured. */
export interface SplitView {
  virtualService: string;
  namespace: string;
  /** The http route's name, or "http[2]". */
  route: string;
  shares: { destination: string; weight: number }[];
}

/** One problem of a refused configuration change: file, document, field and reason. */
export interface IssueView {
  code: string;
  file: string;
  document: number;
  kind?: string;
  name?: string;
  path: string;
  message: string;
}

export interface RejectionView {
  at: string;
  /** api (an apply), file (an edit in the config directory) or startup. */
  source: string;
  issues: IssueView[];
  /** The configuration that kept serving. */
  keptRevision: number;
}

export interface ConfigView {
  /** Counts committed configurations since the control plane started (1 = what it loaded). */
  revision: number;
  /** Content digest of the resources in force. */
  digest: string;
  appliedAt: string;
  resources: ResourceView[];
  splits: SplitView[];
  /** Refused changes, newest first (the last 20). */
  rejections: RejectionView[];
}

export interface EgressRow {
  host: string;
  allowed: boolean;
  /** Why a request was refused (strait_egress_denied_total's reason), for denied rows. */
  reason?: string;
  /** The proxy that counted it and its workload. */
  proxy: string;
  workload: string;
  /** Requests counted since that proxy started, and per second over the rate window. */
  total: number;
  rps: number;
}

export interface EgressView {
  mode?: string;
  /** ServiceEntry hosts: the allow-list. */
  allowedHosts: string[];
  rows: EgressRow[];
}

export interface TrafficStatus {
  /** Where the numbers come from. */
  source: 'prometheus' | 'proxies';
  /** One sentence: "Prometheus at http://…" or "read from 7 proxies' /stats/prometheus". */
  detail: string;
  windowSeconds: number;
  /** What went wrong in the last reading (a proxy not answering, Prometheus down), if anything. */
  problems: string[];
}

export interface ConsoleState {
  at: string;
  traffic: TrafficStatus;
  graph: GraphView;
  proxies: ProxyView[];
  config: ConfigView;
  egress: EgressView;
  /** A request to try when there is no traffic yet, e.g. `curl localhost:8080/`. */
  tryCommand: string;
}
