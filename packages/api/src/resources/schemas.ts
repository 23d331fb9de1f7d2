// Schemas for the supported subset of Istio's networking and telemetry resources and Strait's own
// HealthCheck, RateLimit and MeshConfig. Objects are strict: an unknown field is an error.
// Why zod 4 (not ajv): the api package's snapshot contract is already zod, so one library gives both the
// TypeScript types and the validator with no generated code, strictObject rejects unknown fields, and
// every issue carries a path that formatPath turns into `spec.http[0].timeout`.
import { z } from 'zod';
import { DURATION_PATTERN } from './duration.ts';

export const ISTIO_API_VERSIONS = [
  'networking.istio.io/v1',
  'networking.istio.io/v1beta1',
  'networking.istio.io/v1alpha3',
] as const;
export const ISTIO_SECURITY_API_VERSIONS = ['security.istio.io/v1', 'security.istio.io/v1beta1'] as const;
export const STRAIT_API_VERSION = 'strait.dev/v1alpha1';
export const TELEMETRY_API_VERSIONS = ['telemetry.istio.io/v1', 'telemetry.istio.io/v1alpha1'] as const;

/** The apiVersions each API group accepts, the preferred one first. */
export const API_VERSIONS_BY_GROUP = {
  istio: ISTIO_API_VERSIONS,
  'istio-security': ISTIO_SECURITY_API_VERSIONS,
  telemetry: TELEMETRY_API_VERSIONS,
  strait: [STRAIT_API_VERSION],
} as const;

const duration = z.string().regex(DURATION_PATTERN, 'expected a duration like 100ms, 2s or 1m');
const port = z.number().int().min(1).max(65535);
const labels = z.record(z.string(), z.string());
const name = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a lower-case DNS name (a-z, 0-9, "-" and ".")');
const percentage = z.strictObject({ value: z.number().min(0).max(100) });

/** RFC 9110 token characters: what a header name may contain. */
const headerName = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'expected a valid header name');
const headerValue = z.string().regex(/^[^\r\n\0]*$/, 'expected a header value without CR, LF or NUL');

/** A host: a name, `*`, or a name with one `*` as its first or last character. */
const host = z
  .string()
  .min(1)
  .regex(/^(\*|\*?[A-Za-z0-9_.-]+|[A-Za-z0-9_.-]+\*)$/, 'expected a host name, "*", "*.suffix" or "prefix*"');
/** A Gateway server host may carry a namespace: `ns/host`. */
const serverHost = z
  .string()
  .min(1)
  .regex(
    /^([a-z0-9.-]+\/|\.\/|\*\/)?(\*|\*?[A-Za-z0-9_.-]+)$/,
    'expected a host such as "*", "*.example.com" or "ns/host"',
  );

const validRegex = (pattern: string): boolean => {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
};

/** Istio's StringMatch: exactly one of exact, prefix or regex. */
export const IstioStringMatchSchema = z
  .strictObject({ exact: z.string().optional(), prefix: z.string().optional(), regex: z.string().optional() })
  .refine((m) => [m.exact, m.prefix, m.regex].filter((v) => v !== undefined).length <= 1, {
    message: 'expected only one of exact, prefix or regex',
  })
  .refine((m) => m.regex === undefined || validRegex(m.regex), {
    message: 'expected a valid regular expression',
    path: ['regex'],
  });

export const MetadataSchema = z.strictObject({
  name,
  namespace: name.optional(),
  labels: labels.optional(),
  annotations: labels.optional(),
  /**
   * Kubernetes' optimistic concurrency: the store's version of the resource as it was read. A write that
   * carries one succeeds only while the resource is still at that version (else 409); without one it is
   * last-writer-wins. The store sets it on what it serves; it is never part of the resource's content.
   */
  resourceVersion: z.string().min(1).max(64).optional(),
});

// ---- Gateway

export const GatewaySpecSchema = z.strictObject({
  selector: labels,
  servers: z
    .array(
      z.strictObject({
        port: z.strictObject({
          number: port,
          name: z.string().optional(),
          protocol: z.enum(['HTTP', 'HTTP2']),
        }),
        hosts: z.array(serverHost).min(1),
        name: z.string().optional(),
      }),
    )
    .min(1),
});

// ---- VirtualService

const DestinationSchema = z.strictObject({
  host: z.string().min(1),
  subset: z.string().min(1).optional(),
  port: z.strictObject({ number: port }).optional(),
});

const HeaderOperationsSchema = z.strictObject({
  set: z.record(headerName, headerValue).optional(),
  add: z.record(headerName, headerValue).optional(),
  remove: z.array(headerName).optional(),
});

const HttpMatchSchema = z.strictObject({
  name: z.string().optional(),
  uri: IstioStringMatchSchema.optional(),
  method: IstioStringMatchSchema.refine((m) => m.prefix === undefined && m.regex === undefined, {
    message: 'expected method to be matched with exact only',
  }).optional(),
  headers: z.record(headerName, IstioStringMatchSchema).optional(),
  withoutHeaders: z.record(headerName, IstioStringMatchSchema).optional(),
  queryParams: z.record(z.string(), IstioStringMatchSchema).optional(),
  /** The destination port the request is for (a gateway's server port, or the port a sidecar's call addresses). */
  port: port.optional(),
});

export const RETRY_ON_VALUES = ['5xx', 'gateway-error', 'connect-failure', 'reset', 'retriable-status-codes'];

const retryOn = z.string().refine(
  (text) =>
    text
      .split(',')
      .map((part) => part.trim())
      .every((part) => RETRY_ON_VALUES.includes(part) || /^[1-5]\d\d$/.test(part)),
  { message: `expected a comma-separated list of ${RETRY_ON_VALUES.join(', ')} or status codes` },
);

export const HttpRouteSchema = z.strictObject({
  name: z.string().min(1).optional(),
  match: z.array(HttpMatchSchema).optional(),
  route: z
    .array(
      z.strictObject({
        destination: DestinationSchema,
        weight: z.number().int().min(0).max(100).optional(),
      }),
    )
    .min(1)
    .optional(),
  directResponse: z
    .strictObject({
      status: z.number().int().min(200).max(599),
      body: z.strictObject({ string: z.string() }).optional(),
    })
    .optional(),
  timeout: duration.optional(),
  retries: z
    .strictObject({
      attempts: z.number().int().min(0).max(10),
      perTryTimeout: duration.optional(),
      retryOn: retryOn.optional(),
    })
    .optional(),
  fault: z
    .strictObject({
      delay: z.strictObject({ fixedDelay: duration, percentage: percentage.optional() }).optional(),
      abort: z
        .strictObject({
          httpStatus: z.number().int().min(200).max(599),
          percentage: percentage.optional(),
        })
        .optional(),
    })
    .optional(),
  mirror: DestinationSchema.optional(),
  mirrorPercentage: percentage.optional(),
  rewrite: z.strictObject({ uri: z.string().optional(), authority: z.string().optional() }).optional(),
  headers: z
    .strictObject({ request: HeaderOperationsSchema.optional(), response: HeaderOperationsSchema.optional() })
    .optional(),
});

export const VirtualServiceSpecSchema = z.strictObject({
  hosts: z.array(host).min(1),
  gateways: z.array(z.string().min(1)).optional(),
  http: z
    .array(
      HttpRouteSchema.refine((r) => (r.route === undefined) !== (r.directResponse === undefined), {
        message: 'expected exactly one of route or directResponse',
      }),
    )
    .optional(),
});

// ---- DestinationRule

/**
 * Istio's ClientTLSSettings: ISTIO_MUTUAL (the mesh's certificates), SIMPLE (originate TLS to an external
 * host, checked by `sni` or `subjectAltNames` against the system's roots, or against the PEM bundle at the
 * path `caCertificates` on the proxy that originates) or DISABLE. MUTUAL with files of client certificates
 * is outside the subset.
 */
const ClientTlsSchema = z.strictObject({
  mode: z.enum(['DISABLE', 'SIMPLE', 'ISTIO_MUTUAL']),
  sni: z.string().min(1).optional(),
  subjectAltNames: z.array(z.string().min(1)).optional(),
  caCertificates: z.string().min(1).optional(),
});

const TrafficPolicySchema = z.strictObject({
  loadBalancer: z
    .strictObject({
      simple: z.enum(['ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'RANDOM']).optional(),
      consistentHash: z
        .strictObject({
          httpHeaderName: z.string().min(1).optional(),
          httpCookie: z
            .strictObject({ name: z.string().min(1), ttl: duration.optional(), path: z.string().optional() })
            .optional(),
          useSourceIp: z.boolean().optional(),
        })
        .refine(
          (h) =>
            [h.httpHeaderName, h.httpCookie, h.useSourceIp === true ? true : undefined].filter(
              (v) => v !== undefined,
            ).length === 1,
          { message: 'expected exactly one of httpHeaderName, httpCookie or useSourceIp: true' },
        )
        .optional(),
    })
    .refine((lb) => !(lb.simple && lb.consistentHash), {
      message: 'expected only one of simple or consistentHash',
    })
    .optional(),
  connectionPool: z
    .strictObject({
      tcp: z
        .strictObject({
          maxConnections: z.number().int().min(1).optional(),
          connectTimeout: duration.optional(),
        })
        .optional(),
      http: z
        .strictObject({
          http1MaxPendingRequests: z.number().int().min(1).optional(),
          http2MaxRequests: z.number().int().min(1).optional(),
          maxRetries: z.number().int().min(0).optional(),
          idleTimeout: duration.optional(),
        })
        .optional(),
    })
    .optional(),
  outlierDetection: z
    .strictObject({
      consecutive5xxErrors: z.number().int().min(0).optional(),
      consecutiveGatewayErrors: z.number().int().min(0).optional(),
      interval: duration.optional(),
      baseEjectionTime: duration.optional(),
      maxEjectionPercent: z.number().int().min(0).max(100).optional(),
    })
    .optional(),
  tls: ClientTlsSchema.optional(),
  /** Settings for one port of the host; only `tls` is supported per port. */
  portLevelSettings: z
    .array(z.strictObject({ port: z.strictObject({ number: port }), tls: ClientTlsSchema.optional() }))
    .optional(),
});

export const DestinationRuleSpecSchema = z.strictObject({
  host: z.string().min(1),
  trafficPolicy: TrafficPolicySchema.optional(),
  subsets: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        labels: labels.optional(),
        trafficPolicy: TrafficPolicySchema.optional(),
      }),
    )
    .optional(),
});

// ---- ServiceEntry

export const ServiceEntrySpecSchema = z
  .strictObject({
    hosts: z.array(host).min(1),
    ports: z
      .array(
        z.strictObject({
          number: port,
          name: z.string().min(1),
          protocol: z.enum(['HTTP', 'HTTP2', 'HTTPS', 'TLS', 'TCP']).optional(),
          targetPort: port.optional(),
        }),
      )
      .min(1),
    location: z.enum(['MESH_EXTERNAL', 'MESH_INTERNAL']).optional(),
    resolution: z.enum(['NONE', 'STATIC', 'DNS']).optional(),
    endpoints: z
      .array(
        z.strictObject({
          address: z.string().min(1),
          ports: z.record(z.string(), port).optional(),
          labels: labels.optional(),
          weight: z.number().int().min(1).optional(),
        }),
      )
      .optional(),
    workloadSelector: z.strictObject({ labels }).optional(),
  })
  .refine((se) => se.resolution !== 'STATIC' || (se.endpoints?.length ?? 0) > 0 || se.workloadSelector, {
    message: 'expected endpoints (or a workloadSelector) with resolution STATIC',
    path: ['endpoints'],
  });

// ---- Sidecar and WorkloadEntry

const OutboundTrafficPolicySchema = z.strictObject({ mode: z.enum(['REGISTRY_ONLY', 'ALLOW_ANY']) });

/**
 * A Sidecar's egress host: `namespace/dnsName`, where the namespace is a name, `.` (the Sidecar's own), `*`
 * (any) or `~` (none), and the DNS name is exact, `*.suffix` or `*`.
 */
const sidecarEgressHost = z
  .string()
  .regex(
    /^(\*|\.|~|[a-z0-9]([-a-z0-9]*[a-z0-9])?)\/(\*|\*?[A-Za-z0-9_.-]+)$/,
    'expected namespace/dnsName, e.g. "./service-b", "*/*.example.com" or "istio-system/*"',
  );

export const SidecarSpecSchema = z.strictObject({
  workloadSelector: z.strictObject({ labels }).optional(),
  /** What the selected sidecars may call: only these hosts get routes and clusters (Istio's scoping). */
  egress: z
    .array(z.strictObject({ hosts: z.array(sidecarEgressHost).min(1) }))
    .min(1)
    .optional(),
  outboundTrafficPolicy: OutboundTrafficPolicySchema.optional(),
});

export const WorkloadEntrySpecSchema = z.strictObject({
  address: z.string().min(1),
  ports: z.record(z.string(), port).optional(),
  labels: labels.optional(),
  weight: z.number().int().min(1).optional(),
});

// ---- Strait's own resources

export const HealthCheckSpecSchema = z
  .strictObject({
    host: z.string().min(1),
    path: z.string().startsWith('/', 'expected a path starting with "/"'),
    interval: duration,
    timeout: duration,
    healthyThreshold: z.number().int().min(1),
    unhealthyThreshold: z.number().int().min(1),
    expectedStatuses: z
      .array(
        z.strictObject({
          start: z.number().int().min(100).max(599),
          end: z.number().int().min(100).max(599),
        }),
      )
      .optional(),
    jitter: duration.optional(),
  })
  .refine((hc) => (hc.expectedStatuses ?? []).every((r) => r.start <= r.end), {
    message: 'expected each status range to have start <= end',
    path: ['expectedStatuses'],
  });

export const RateLimitSpecSchema = z.strictObject({
  targetRef: z.strictObject({ kind: z.enum(['Gateway', 'VirtualService']), name: z.string().min(1) }),
  route: z.string().min(1).optional(),
  tokenBucket: z.strictObject({
    maxTokens: z.number().int().min(1),
    tokensPerFill: z.number().int().min(1),
    fillInterval: duration,
  }),
});

/** Istio's MeshConfig.pathNormalization: how proxies normalize request paths before routing. */
export const PathNormalizationSpecSchema = z.strictObject({
  normalization: z.enum(['DEFAULT', 'NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']),
});

/**
 * Istio's MeshConfig.extensionProviders, the OpenTelemetry kind: where proxies send spans. Strait speaks
 * OTLP over HTTP only (JSON), so `http` may be left out (its path then defaults to /v1/traces); `grpc` is
 * refused as outside the subset.
 */
const ExtensionProviderSchema = z.strictObject({
  name,
  opentelemetry: z.strictObject({
    service: z.string().min(1),
    port,
    http: z
      .strictObject({
        path: z.string().startsWith('/', 'expected a path starting with "/"').optional(),
        timeout: duration.optional(),
      })
      .optional(),
  }),
});

export const MeshConfigSpecSchema = z.strictObject({
  outboundTrafficPolicy: OutboundTrafficPolicySchema.optional(),
  pathNormalization: PathNormalizationSpecSchema.optional(),
  egressGateway: z.strictObject({ workload: z.string().min(1) }).optional(),
  accessLog: z.boolean().optional(),
  extensionProviders: z.array(ExtensionProviderSchema).optional(),
  /** Providers used where no Telemetry resource names one (Istio's defaultProviders). */
  defaultProviders: z.strictObject({ tracing: z.array(z.string().min(1)).max(1).optional() }).optional(),
});

// ---- Telemetry (telemetry.istio.io)

/**
 * Istio's Telemetry, its tracing part: which provider and what share of requests. One in the root namespace
 * (istio-system) applies mesh-wide, one elsewhere to its namespace, one with a selector to the matching
 * workloads; the more specific overrides the fields it sets.
 */
export const TelemetrySpecSchema = z.strictObject({
  selector: z.strictObject({ matchLabels: labels }).optional(),
  tracing: z
    .array(
      z.strictObject({
        providers: z
          .array(z.strictObject({ name: z.string().min(1) }))
          .max(1, 'expected at most one provider (a proxy sends its spans to one place)')
          .optional(),
        randomSamplingPercentage: z.number().min(0).max(100).optional(),
        disableSpanReporting: z.boolean().optional(),
      }),
    )
    .max(1, 'expected one tracing entry (per-mode entries are outside the supported subset)')
    .optional(),
});

// ---- PeerAuthentication (security.istio.io)

const MtlsModeSchema = z.strictObject({ mode: z.enum(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']) });

/**
 * How workloads take connections: without a selector it covers its namespace (the mesh, in the root
 * namespace istio-system); with one, the workloads it selects, where portLevelMtls may set a port's mode.
 */
export const PeerAuthenticationSpecSchema = z
  .strictObject({
    selector: z.strictObject({ matchLabels: labels }).optional(),
    mtls: MtlsModeSchema.optional(),
    portLevelMtls: z
      .record(z.string().regex(/^[1-9][0-9]{0,4}$/, 'expected a port number'), MtlsModeSchema)
      .optional(),
  })
  .refine((pa) => pa.portLevelMtls === undefined || pa.selector !== undefined, {
    message: 'portLevelMtls needs a selector (as in Istio)',
    path: ['portLevelMtls'],
  });

// ---- AuthorizationPolicy (security.istio.io)

/** A value in Istio's authorization matching: exact, `prefix*`, `*suffix`, or `*` (present, any value). */
const authzValue = z.string().min(1, 'expected a non-empty value');
const authzValues = z.array(authzValue).min(1, 'expected at least one value').optional();
/** An IP address or a CIDR block (v4 or v6); checked for syntax here, parsed by the proxy. */
const ipBlock = z
  .string()
  .regex(/^[0-9A-Fa-f:.]+(\/[0-9]{1,3})?$/, 'expected an IP address or a CIDR block such as 10.0.0.0/16');
const ipBlocks = z.array(ipBlock).min(1, 'expected at least one block').optional();
const portValue = z.string().regex(/^[1-9][0-9]{0,4}$/, 'expected a port number as a string, e.g. "8080"');
const portValues = z.array(portValue).min(1, 'expected at least one port').optional();

/** At least one field set: Istio refuses an empty source or operation (it would match everything unseen). */
const notEmpty = (what: string) => ({
  message: `expected at least one field in ${what} (an empty ${what} is refused, as in Istio)`,
  // Only when the object is otherwise valid: an unknown field alone is the one thing to say.
  when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0,
});

export const AuthorizationSourceSchema = z
  .strictObject({
    principals: authzValues,
    notPrincipals: authzValues,
    namespaces: authzValues,
    notNamespaces: authzValues,
    ipBlocks: ipBlocks,
    notIpBlocks: ipBlocks,
    remoteIpBlocks: ipBlocks,
    notRemoteIpBlocks: ipBlocks,
  })
  .refine((s) => Object.keys(s).length > 0, notEmpty('source'));

export const AuthorizationOperationSchema = z
  .strictObject({
    hosts: authzValues,
    notHosts: authzValues,
    ports: portValues,
    notPorts: portValues,
    methods: authzValues,
    notMethods: authzValues,
    paths: authzValues,
    notPaths: authzValues,
  })
  .refine((o) => Object.keys(o).length > 0, notEmpty('operation'));

/** The `when` keys Strait evaluates; request.auth.* needs JWT (RequestAuthentication), which Strait lacks. */
export const AUTHORIZATION_CONDITION_KEYS = [
  'request.headers[<name>]',
  'source.ip',
  'remote.ip',
  'source.principal',
  'source.namespace',
  'destination.ip',
  'destination.port',
  'connection.sni',
] as const;

const conditionKey = z.string().superRefine((key, ctx) => {
  if (/^request\.headers\[[!#$%&'*+\-.^_`|~0-9A-Za-z]+\]$/.test(key)) return;
  if ((AUTHORIZATION_CONDITION_KEYS as readonly string[]).includes(key)) return;
  const message = key.startsWith('request.auth.')
    ? `"${key}" needs request authentication (JWT), which Strait does not have`
    : `unsupported condition key "${key}"; supported: ${AUTHORIZATION_CONDITION_KEYS.join(', ')}`;
  ctx.addIssue({ code: 'custom', message });
});

export const AuthorizationConditionSchema = z
  .strictObject({ key: conditionKey, values: authzValues, notValues: authzValues })
  .refine((c) => c.values !== undefined || c.notValues !== undefined, {
    message: 'expected values or notValues',
    when: (payload) => payload.issues.length === 0,
  });

export const AuthorizationRuleSchema = z.strictObject({
  from: z.array(z.strictObject({ source: AuthorizationSourceSchema })).optional(),
  to: z.array(z.strictObject({ operation: AuthorizationOperationSchema })).optional(),
  when: z.array(AuthorizationConditionSchema).optional(),
});

/**
 * Istio's AuthorizationPolicy: which requests a workload takes. In the root namespace (istio-system) without a
 * selector it covers the mesh, elsewhere without one its namespace, with one the workloads it selects. ALLOW
 * (the default) and DENY decide; AUDIT is accepted and decides nothing; CUSTOM (an external authorizer) is
 * outside the subset.
 */
export const AuthorizationPolicySpecSchema = z.strictObject({
  selector: z.strictObject({ matchLabels: labels }).optional(),
  action: z
    .enum(['ALLOW', 'DENY', 'AUDIT'], {
      error: (issue) =>
        issue.input === 'CUSTOM'
          ? 'CUSTOM (an external authorizer) is not supported; expected ALLOW, DENY or AUDIT'
          : 'expected ALLOW, DENY or AUDIT',
    })
    .default('ALLOW'),
  rules: z.array(AuthorizationRuleSchema).optional(),
});

/** Every supported kind with its API group and spec schema. */
export const KINDS = {
  Gateway: { group: 'istio', spec: GatewaySpecSchema },
  VirtualService: { group: 'istio', spec: VirtualServiceSpecSchema },
  DestinationRule: { group: 'istio', spec: DestinationRuleSpecSchema },
  ServiceEntry: { group: 'istio', spec: ServiceEntrySpecSchema },
  Sidecar: { group: 'istio', spec: SidecarSpecSchema },
  WorkloadEntry: { group: 'istio', spec: WorkloadEntrySpecSchema },
  PeerAuthentication: { group: 'istio-security', spec: PeerAuthenticationSpecSchema },
  AuthorizationPolicy: { group: 'istio-security', spec: AuthorizationPolicySpecSchema },
  HealthCheck: { group: 'strait', spec: HealthCheckSpecSchema },
  RateLimit: { group: 'strait', spec: RateLimitSpecSchema },
  MeshConfig: { group: 'strait', spec: MeshConfigSpecSchema },
  Telemetry: { group: 'telemetry', spec: TelemetrySpecSchema },
} as const;

export type Kind = keyof typeof KINDS;

/** The apiVersions a kind accepts, the preferred first. */
export function apiVersionsOf(kind: Kind): readonly string[] {
  return API_VERSIONS_BY_GROUP[KINDS[kind].group];
}
export const KIND_NAMES = Object.keys(KINDS) as Kind[];

export type Metadata = z.infer<typeof MetadataSchema>;
export type IstioStringMatch = z.infer<typeof IstioStringMatchSchema>;
export type GatewaySpec = z.infer<typeof GatewaySpecSchema>;
export type VirtualServiceSpec = z.infer<typeof VirtualServiceSpecSchema>;
export type HttpRoute = z.infer<typeof HttpRouteSchema>;
export type DestinationRuleSpec = z.infer<typeof DestinationRuleSpecSchema>;
export type TrafficPolicy = z.infer<typeof TrafficPolicySchema>;
export type ServiceEntrySpec = z.infer<typeof ServiceEntrySpecSchema>;
export type SidecarSpec = z.infer<typeof SidecarSpecSchema>;
export type WorkloadEntrySpec = z.infer<typeof WorkloadEntrySpecSchema>;
export type PeerAuthenticationSpec = z.infer<typeof PeerAuthenticationSpecSchema>;
export type AuthorizationPolicySpec = z.infer<typeof AuthorizationPolicySpecSchema>;
export type AuthorizationRule = z.infer<typeof AuthorizationRuleSchema>;
export type ClientTls = z.infer<typeof ClientTlsSchema>;
export type HealthCheckSpec = z.infer<typeof HealthCheckSpecSchema>;
export type RateLimitSpec = z.infer<typeof RateLimitSpecSchema>;
export type MeshConfigSpec = z.infer<typeof MeshConfigSpecSchema>;
export type TelemetrySpec = z.infer<typeof TelemetrySpecSchema>;

export interface SpecOf {
  Gateway: GatewaySpec;
  VirtualService: VirtualServiceSpec;
  DestinationRule: DestinationRuleSpec;
  ServiceEntry: ServiceEntrySpec;
  Sidecar: SidecarSpec;
  WorkloadEntry: WorkloadEntrySpec;
  PeerAuthentication: PeerAuthenticationSpec;
  AuthorizationPolicy: AuthorizationPolicySpec;
  HealthCheck: HealthCheckSpec;
  RateLimit: RateLimitSpec;
  MeshConfig: MeshConfigSpec;
  Telemetry: TelemetrySpec;
}

/** Where a resource came from: a file (or an API request) and its 1-based document number. */
export interface Origin {
  file: string;
  document: number;
  /** For a document holding a list (JSON array or `kind: List`), the 1-based item. */
  item?: number;
}

/** One validated resource. */
export interface Resource<K extends Kind = Kind> {
  apiVersion: string;
  kind: K;
  metadata: Metadata & { namespace: string };
  spec: SpecOf[K];
  origin: Origin;
}
