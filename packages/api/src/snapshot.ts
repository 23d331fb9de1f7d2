// The snapshot: everything one proxy needs, as the control plane pushes it (docs/architecture.md, "The snapshot").
// Schemas are zod so the same source gives the TypeScript types and the validator.
import { z } from 'zod';
import { NODE_ROLES } from './protocol.ts';

const port = z.number().int().min(1).max(65535);
const percent = z.number().min(0).max(100);
const durationMs = z.number().int().min(0);

/** Set/add/remove operations on a header map. Names are lower-case. */
export const HeaderOpsSchema = z.strictObject({
  set: z.record(z.string(), z.string()).optional(),
  add: z.record(z.string(), z.string()).optional(),
  remove: z.array(z.string()).optional(),
});

/** How to match one string: exactly, by prefix or by an RE2-ish regular expression (JS syntax). */
export const StringMatchSchema = z.union([
  z.strictObject({ exact: z.string() }),
  z.strictObject({ prefix: z.string() }),
  z.strictObject({ regex: z.string() }),
]);

export const HeaderMatchSchema = z.strictObject({
  name: z.string().min(1),
  /** Absent means "header is present". */
  match: StringMatchSchema.optional(),
  invert: z.boolean().optional(),
});

export const QueryParamMatchSchema = z.strictObject({
  name: z.string().min(1),
  match: StringMatchSchema.optional(),
});

export const RouteMatchSchema = z.strictObject({
  path: StringMatchSchema.optional(),
  /** The destination port the request is for (Istio's match.port; see routing's destinationPort). */
  port: port.optional(),
  method: z.array(z.string()).optional(),
  headers: z.array(HeaderMatchSchema).optional(),
  queryParams: z.array(QueryParamMatchSchema).optional(),
});

/** A token bucket: `maxTokens` burst, refilled with `tokensPerFill` every `fillIntervalMs`. */
export const TokenBucketSchema = z.strictObject({
  maxTokens: z.number().int().min(1),
  tokensPerFill: z.number().int().min(1),
  fillIntervalMs: z.number().int().min(1),
});

export const RetryPolicySchema = z.strictObject({
  attempts: z.number().int().min(0).max(10),
  perTryTimeoutMs: durationMs.optional(),
  /** Envoy's names: 5xx, gateway-error, connect-failure, reset, retriable-status-codes. */
  retryOn: z.array(z.enum(['5xx', 'gateway-error', 'connect-failure', 'reset', 'retriable-status-codes'])),
  retriableStatusCodes: z.array(z.number().int().min(100).max(599)).optional(),
});

export const FaultSchema = z.strictObject({
  delay: z.strictObject({ fixedDelayMs: durationMs, percentage: percent }).optional(),
  abort: z.strictObject({ httpStatus: z.number().int().min(200).max(599), percentage: percent }).optional(),
});

export const WeightedClusterSchema = z.strictObject({
  cluster: z.string().min(1),
  weight: z.number().int().min(0),
});

export const RouteActionSchema = z.strictObject({
  clusters: z.array(WeightedClusterSchema).min(1),
  timeoutMs: durationMs.optional(),
  retry: RetryPolicySchema.optional(),
  fault: FaultSchema.optional(),
  rewrite: z.strictObject({ prefix: z.string().optional(), authority: z.string().optional() }).optional(),
  requestHeaders: HeaderOpsSchema.optional(),
  responseHeaders: HeaderOpsSchema.optional(),
  mirror: z.strictObject({ cluster: z.string().min(1), percentage: percent }).optional(),
  rateLimit: TokenBucketSchema.optional(),
});

export const DirectResponseSchema = z.strictObject({
  status: z.number().int().min(200).max(599),
  body: z.string().optional(),
});

export const RouteSchema = z
  .strictObject({
    name: z.string().min(1),
    match: RouteMatchSchema,
    route: RouteActionSchema.optional(),
    directResponse: DirectResponseSchema.optional(),
  })
  .refine((r) => (r.route === undefined) !== (r.directResponse === undefined), {
    message: 'a route needs exactly one of route or directResponse',
  });

export const VirtualHostSchema = z.strictObject({
  name: z.string().min(1),
  /** Authorities this host answers: exact names, `*.suffix`, `prefix.*` or `*`. Ports are ignored. */
  domains: z.array(z.string().min(1)).min(1),
  routes: z.array(RouteSchema),
});

/**
 * Istio's path normalization modes, with Envoy's semantics: NONE leaves the path alone; BASE resolves
 * `.` and `..` (also percent-encoded) and decodes percent-encoded unreserved characters (RFC 3986);
 * MERGE_SLASHES also merges repeated slashes; DECODE_AND_MERGE_SLASHES first decodes %2F and %5C.
 */
export const PathNormalizationSchema = z.enum(['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']);

/** The codec's limits for one listener; each absent one takes the proxy's default (Envoy's answers). */
export const ListenerLimitsSchema = z.strictObject({
  /** Request head (line and fields), bytes; over it 431. Default 60 KiB. */
  maxHeaderBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .optional(),
  /** Fields in a request head; over it 431. Default 100. */
  maxHeaderCount: z.number().int().min(1).optional(),
  /** Request target, bytes; over it 414. Default 16 KiB. */
  maxUrlBytes: z.number().int().min(16).optional(),
  /** Time for a request head to arrive; over it 408. Default: --headers-timeout-ms (10 s). */
  headerTimeoutMs: z.number().int().min(1).optional(),
  /** Keep-alive idle time between requests before the connection closes. Default 30 s. */
  idleTimeoutMs: z.number().int().min(1).optional(),
  /** Requests on one connection before it closes after the last response; 0, the default: no limit. */
  maxRequestsPerConnection: z.number().int().min(0).optional(),
});

/**
 * How a listener takes connections (Istio's PeerAuthentication mode, resolved by the control plane for
 * this listener's port): STRICT only mutual TLS with a mesh certificate, PERMISSIVE mutual TLS or plain
 * text (told apart by the first byte), DISABLE plain text only.
 */
export const DownstreamTlsSchema = z.strictObject({
  mode: z.enum(['STRICT', 'PERMISSIVE', 'DISABLE']),
});

/**
 * How a cluster's connections are made (Istio's DestinationRule trafficPolicy.tls, resolved):
 * ISTIO_MUTUAL presents the proxy's mesh certificate and accepts only a server holding one of
 * `subjectAltNames` (SPIFFE IDs); SIMPLE originates TLS to an external host, checked against `sni` (or
 * `subjectAltNames`) with the system's roots, or with the PEM bundle in the file `caCertificates` (a path on
 * the proxy, as in Istio, read when the cluster is built).
 */
export const UpstreamTlsSchema = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('ISTIO_MUTUAL'),
    subjectAltNames: z.array(z.string().min(1)).min(1),
  }),
  z.strictObject({
    mode: z.literal('SIMPLE'),
    sni: z.string().min(1).optional(),
    subjectAltNames: z.array(z.string().min(1)).optional(),
    caCertificates: z.string().min(1).optional(),
  }),
]);

/** Values in Istio's authorization matching: exact, `prefix*`, `*suffix`, or `*` (any non-empty value). */
const authzValues = z.array(z.string().min(1)).optional();

/** Who is calling (Istio's rule `from[].source`): every field set must match; a `not*` field, none of its values. */
export const AuthzSourceSchema = z.strictObject({
  principals: authzValues,
  notPrincipals: authzValues,
  namespaces: authzValues,
  notNamespaces: authzValues,
  ipBlocks: authzValues,
  notIpBlocks: authzValues,
  remoteIpBlocks: authzValues,
  notRemoteIpBlocks: authzValues,
});

/** What is asked for (Istio's rule `to[].operation`). */
export const AuthzOperationSchema = z.strictObject({
  hosts: authzValues,
  notHosts: authzValues,
  ports: authzValues,
  notPorts: authzValues,
  methods: authzValues,
  notMethods: authzValues,
  paths: authzValues,
  notPaths: authzValues,
});

/** One `when` condition: `key` (e.g. `request.headers[x-token]`, `source.ip`) with values and/or notValues. */
export const AuthzConditionSchema = z.strictObject({
  key: z.string().min(1),
  values: authzValues,
  notValues: authzValues,
});

/** A rule matches when each of its lists that is present has an item that matches. */
export const AuthzRuleSchema = z.strictObject({
  from: z.array(AuthzSourceSchema).optional(),
  to: z.array(AuthzOperationSchema).optional(),
  when: z.array(AuthzConditionSchema).optional(),
});

/** One AuthorizationPolicy in force on a listener, and the scope that brought it there. */
export const AuthzPolicySchema = z.strictObject({
  name: z.string().min(1),
  namespace: z.string().min(1),
  action: z.enum(['ALLOW', 'DENY', 'AUDIT']),
  /** mesh: the root namespace without a selector; namespace: its namespace; workload: a selector picked it. */
  scope: z.enum(['mesh', 'namespace', 'workload']),
  rules: z.array(AuthzRuleSchema),
});

/** The authorization a listener enforces (present only when some policy applies to the workload). */
export const ListenerAuthorizationSchema = z.strictObject({
  /** The port requests are for (the workload's port at a sidecar): what `ports` and destination.port compare. */
  destinationPort: port,
  policies: z.array(AuthzPolicySchema).min(1),
});

/**
 * A listener. `kind` says what it does with a request:
 * gateway — the ingress front door (origin-form requests, routed by Host);
 * inbound — a sidecar's listener in front of its app;
 * outbound — a sidecar's forward proxy for its app (absolute-form and CONNECT);
 * egress — the egress gateway's forward proxy (allow-list enforced).
 */
export const ListenerSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(['gateway', 'inbound', 'outbound', 'egress']),
  port: port,
  virtualHosts: z.array(VirtualHostSchema),
  rateLimit: TokenBucketSchema.optional(),
  /** How request paths are normalized before routing (Istio's MeshConfig pathNormalization). */
  pathNormalization: PathNormalizationSchema.default('BASE'),
  /** Open connections this listener accepts; over it, a new one gets 503 and is closed. Default: from the fd limit. */
  maxConnections: z.number().int().min(1).optional(),
  limits: ListenerLimitsSchema.optional(),
  /** Mutual TLS on this listener (inbound and egress listeners); absent: plain text. */
  tls: DownstreamTlsSchema.optional(),
  /** AuthorizationPolicies in force on this listener's workload; absent: every request is allowed. */
  authorization: ListenerAuthorizationSchema.optional(),
});

export const EndpointSchema = z.strictObject({
  /** IP address or host name (a name is resolved with DNS at connect time). */
  address: z.string().min(1),
  port: port,
  weight: z.number().int().min(1).default(1),
  labels: z.record(z.string(), z.string()).optional(),
  /** Health as the control plane knows it; the proxy's own checks refine it. */
  health: z.enum(['HEALTHY', 'UNHEALTHY', 'DRAINING']).optional(),
  /** Who serves here, for destination_* metric labels. */
  workload: z.string().optional(),
  namespace: z.string().optional(),
});

export const HealthCheckSchema = z.strictObject({
  path: z.string().startsWith('/'),
  host: z.string().optional(),
  intervalMs: z.number().int().min(10),
  jitterMs: durationMs.optional(),
  timeoutMs: z.number().int().min(1),
  healthyThreshold: z.number().int().min(1),
  unhealthyThreshold: z.number().int().min(1),
  /** Inclusive ranges of statuses that count as healthy; default 200-299. */
  expectedStatuses: z.array(z.strictObject({ start: z.number().int(), end: z.number().int() })).optional(),
});

export const OutlierDetectionSchema = z.strictObject({
  consecutive5xx: z.number().int().min(0).optional(),
  consecutiveGatewayErrors: z.number().int().min(0).optional(),
  intervalMs: z.number().int().min(1),
  baseEjectionTimeMs: z.number().int().min(1),
  maxEjectionPercent: percent,
});

export const CircuitBreakersSchema = z.strictObject({
  maxConnections: z.number().int().min(1).optional(),
  maxPendingRequests: z.number().int().min(1).optional(),
  maxRequests: z.number().int().min(1).optional(),
  maxRetries: z.number().int().min(0).optional(),
});

export const HashPolicySchema = z.union([
  z.strictObject({ header: z.string().min(1) }),
  z.strictObject({ cookie: z.string().min(1) }),
  z.strictObject({ sourceIp: z.literal(true) }),
]);

export const ClusterSchema = z.strictObject({
  name: z.string().min(1),
  /** STATIC: endpoints as given; ORIGINAL_DST: the request's own target (ALLOW_ANY passthrough). */
  type: z.enum(['STATIC', 'ORIGINAL_DST']).default('STATIC'),
  /** The mesh service this cluster belongs to, for destination_service labels (e.g. service-b). */
  service: z.string().optional(),
  lbPolicy: z.enum(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'CONSISTENT_HASH']).default('ROUND_ROBIN'),
  hashPolicy: HashPolicySchema.optional(),
  endpoints: z.array(EndpointSchema),
  connectTimeoutMs: z.number().int().min(1).default(1000),
  /** Upstream keep-alive idle timeout; shorter than Node's 5 s server default. */
  idleTimeoutMs: z.number().int().min(1).default(4000),
  /** Below this share of healthy endpoints, ignore health and use all (Envoy's panic mode). */
  panicThresholdPercent: percent.default(50),
  circuitBreakers: CircuitBreakersSchema.optional(),
  healthCheck: HealthCheckSchema.optional(),
  outlierDetection: OutlierDetectionSchema.optional(),
  /** Send requests to the endpoint as an HTTP proxy would (absolute-form), e.g. to the egress gateway. */
  forwardProxy: z.boolean().optional(),
  /** TLS to the endpoints; absent: plain text. */
  tls: UpstreamTlsSchema.optional(),
});

/** One allow-list entry: a host (exact or `*.domain`) on the listed ports. */
export const EgressRuleSchema = z.strictObject({
  host: z.string().min(1),
  ports: z.array(port).min(1),
  resolution: z.enum(['DNS', 'STATIC', 'NONE']).default('DNS'),
  /** For STATIC resolution: where the host really is. Naming an address here allows it even if loopback. */
  endpoints: z.array(z.strictObject({ address: z.string().min(1), port: port.optional() })).optional(),
});

export const EgressPolicySchema = z.strictObject({
  mode: z.enum(['REGISTRY_ONLY', 'ALLOW_ANY']),
  allow: z.array(EgressRuleSchema),
});

/** Where a proxy sends its spans: an OpenTelemetry collector's OTLP/HTTP endpoint (JSON encoding). */
export const TraceCollectorSchema = z.strictObject({
  host: z.string().min(1),
  port,
  path: z.string().startsWith('/').default('/v1/traces'),
});

/** Tracing as Istio's Telemetry resource sets it for this proxy; absent means no spans. */
export const TracingSettingsSchema = z.strictObject({
  /** The MeshConfig extension provider's name. */
  provider: z.string().min(1),
  /** Share of requests arriving without a sampling decision that are traced (0-100). */
  samplingPercentage: z.number().min(0).max(100),
  collector: TraceCollectorSchema,
});

export const TelemetrySettingsSchema = z.strictObject({
  accessLog: z.boolean().default(true),
  tracing: TracingSettingsSchema.optional(),
});

export const NodeRoleSchema = z.enum(NODE_ROLES);

/** Who a proxy is: sent when it connects, echoed in its snapshot, used for metric labels. */
export const NodeInfoSchema = z.strictObject({
  id: z.string().min(1),
  role: NodeRoleSchema,
  workload: z.string().min(1),
  namespace: z.string().default('default'),
  service: z.string().optional(),
  version: z.string().optional(),
  /** The pod's address: where other proxies reach this one. */
  address: z.string().optional(),
  /** Where the sidecar reaches its own app (127.0.0.1 in Docker, the pod address locally) and on which port. */
  appAddress: z.string().optional(),
  appPort: port.optional(),
  ports: z.record(z.string(), port).optional(),
  /** Where this proxy serves /stats/prometheus (host:port), for Prometheus discovery. */
  statsAddress: z.string().optional(),
  /** Where this proxy's admin port listens (host:port): /clusters, /config_dump. Loopback only by default. */
  adminAddress: z.string().optional(),
});

/** A workload the control plane knows, as source_* metric labels name it. */
export const KnownPeerSchema = z.strictObject({
  workload: z.string().min(1),
  namespace: z.string().default('default'),
  app: z.string().optional(),
  version: z.string().optional(),
});

export const SnapshotSchema = z.strictObject({
  version: z.string(),
  listeners: z.array(ListenerSchema),
  clusters: z.array(ClusterSchema),
  egress: EgressPolicySchema.optional(),
  telemetry: TelemetrySettingsSchema.default({ accessLog: true }),
  /**
   * The workloads that may call this proxy's inbound listeners. A caller's peer header is only a claim:
   * it is labelled as the known workload it names, or as "unknown", so labels never come from a request.
   */
  peers: z.array(KnownPeerSchema).optional(),
});

export type HeaderOps = z.infer<typeof HeaderOpsSchema>;
export type StringMatch = z.infer<typeof StringMatchSchema>;
export type HeaderMatch = z.infer<typeof HeaderMatchSchema>;
export type QueryParamMatch = z.infer<typeof QueryParamMatchSchema>;
export type RouteMatch = z.infer<typeof RouteMatchSchema>;
export type TokenBucket = z.infer<typeof TokenBucketSchema>;
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;
export type Fault = z.infer<typeof FaultSchema>;
export type WeightedCluster = z.infer<typeof WeightedClusterSchema>;
export type RouteAction = z.infer<typeof RouteActionSchema>;
export type DirectResponse = z.infer<typeof DirectResponseSchema>;
export type Route = z.infer<typeof RouteSchema>;
export type VirtualHost = z.infer<typeof VirtualHostSchema>;
export type Listener = z.infer<typeof ListenerSchema>;
export type PathNormalization = z.infer<typeof PathNormalizationSchema>;
export type ListenerLimits = z.infer<typeof ListenerLimitsSchema>;
export type KnownPeer = z.infer<typeof KnownPeerSchema>;
export type ListenerKind = Listener['kind'];
export type Endpoint = z.infer<typeof EndpointSchema>;
export type HealthCheck = z.infer<typeof HealthCheckSchema>;
export type OutlierDetection = z.infer<typeof OutlierDetectionSchema>;
export type CircuitBreakers = z.infer<typeof CircuitBreakersSchema>;
export type HashPolicy = z.infer<typeof HashPolicySchema>;
export type Cluster = z.infer<typeof ClusterSchema>;
export type UpstreamTls = z.infer<typeof UpstreamTlsSchema>;
export type DownstreamTls = z.infer<typeof DownstreamTlsSchema>;
export type AuthzSource = z.infer<typeof AuthzSourceSchema>;
export type AuthzOperation = z.infer<typeof AuthzOperationSchema>;
export type AuthzCondition = z.infer<typeof AuthzConditionSchema>;
export type AuthzRule = z.infer<typeof AuthzRuleSchema>;
export type AuthzPolicy = z.infer<typeof AuthzPolicySchema>;
export type ListenerAuthorization = z.infer<typeof ListenerAuthorizationSchema>;
export type LbPolicy = Cluster['lbPolicy'];
export type EgressRule = z.infer<typeof EgressRuleSchema>;
export type EgressPolicy = z.infer<typeof EgressPolicySchema>;
export type TelemetrySettings = z.infer<typeof TelemetrySettingsSchema>;
export type TracingSettings = z.infer<typeof TracingSettingsSchema>;
export type NodeRole = z.infer<typeof NodeRoleSchema>;
export type NodeInfo = z.infer<typeof NodeInfoSchema>;
export type Snapshot = z.infer<typeof SnapshotSchema>;
/** A snapshot as written by hand or by the translator, before defaults are filled in. */
export type SnapshotInput = z.input<typeof SnapshotSchema>;
