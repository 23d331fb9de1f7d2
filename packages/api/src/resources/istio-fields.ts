// Istio's own field names for every object of the resources Strait reads, so that an Istio field Strait does
// not support yet is told apart from a typo. Taken from Istio's networking, security and telemetry API references (v1); the keys are
// schema paths as fieldPathPattern writes them: arrays as `[]`, map values as `*`.

/** Kubernetes' ObjectMeta, as an Istio resource's `metadata` may carry it. */
const OBJECT_META = [
  'name',
  'namespace',
  'labels',
  'annotations',
  'generateName',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'selfLink',
];

const STRING_MATCH = ['exact', 'prefix', 'regex'];
const HEADER_OPERATIONS = ['set', 'add', 'remove'];
const DESTINATION = ['host', 'subset', 'port'];
const PERCENT = ['value'];
const WORKLOAD_SELECTOR = ['labels'];

/** Istio's ClientTLSSettings. */
const CLIENT_TLS = [
  'mode',
  'clientCertificate',
  'privateKey',
  'caCertificates',
  'credentialName',
  'subjectAltNames',
  'sni',
  'insecureSkipVerify',
  'caCrl',
];

const TRAFFIC_POLICY = {
  '': [
    'loadBalancer',
    'connectionPool',
    'outlierDetection',
    'tls',
    'portLevelSettings',
    'tunnel',
    'proxyProtocol',
  ],
  loadBalancer: ['simple', 'consistentHash', 'localityLbSetting', 'warmupDurationSecs'],
  tls: CLIENT_TLS,
  'portLevelSettings[]': ['port', 'loadBalancer', 'connectionPool', 'outlierDetection', 'tls'],
  'portLevelSettings[].port': ['number'],
  'portLevelSettings[].tls': CLIENT_TLS,
  'loadBalancer.consistentHash': [
    'httpHeaderName',
    'httpCookie',
    'useSourceIp',
    'httpQueryParameterName',
    'ringHash',
    'maglev',
    'minimumRingSize',
  ],
  'loadBalancer.consistentHash.httpCookie': ['name', 'path', 'ttl', 'attributes'],
  connectionPool: ['tcp', 'http'],
  'connectionPool.tcp': [
    'maxConnections',
    'connectTimeout',
    'tcpKeepalive',
    'maxConnectionDuration',
    'idleTimeout',
  ],
  'connectionPool.http': [
    'http1MaxPendingRequests',
    'http2MaxRequests',
    'maxRequestsPerConnection',
    'maxRetries',
    'idleTimeout',
    'h2UpgradePolicy',
    'useClientProtocol',
    'maxConcurrentStreams',
  ],
  outlierDetection: [
    'splitExternalLocalOriginErrors',
    'consecutiveLocalOriginFailures',
    'consecutiveGatewayErrors',
    'consecutive5xxErrors',
    'interval',
    'baseEjectionTime',
    'maxEjectionPercent',
    'minHealthPercent',
    'consecutiveErrors',
  ],
} as const;

/** `prefix` + each key of a nested table: {'': a, 'b': c} under `x` -> {x: a, 'x.b': c}. */
function under(prefix: string, table: Record<string, readonly string[]>): Record<string, readonly string[]> {
  return Object.fromEntries(
    Object.entries(table).map(([path, fields]) => [path === '' ? prefix : `${prefix}.${path}`, fields]),
  );
}

/** Per kind, per object path: the fields Istio's API has there. */
export const ISTIO_FIELDS: Record<string, Record<string, readonly string[]>> = {
  Gateway: {
    spec: ['servers', 'selector'],
    'spec.servers[]': ['port', 'bind', 'hosts', 'tls', 'defaultEndpoint', 'name'],
    'spec.servers[].port': ['number', 'protocol', 'name', 'targetPort'],
  },
  VirtualService: {
    spec: ['hosts', 'gateways', 'http', 'tls', 'tcp', 'exportTo'],
    'spec.http[]': [
      'name',
      'match',
      'route',
      'redirect',
      'directResponse',
      'delegate',
      'rewrite',
      'timeout',
      'retries',
      'fault',
      'mirror',
      'mirrors',
      'mirrorPercentage',
      'mirrorPercent',
      'corsPolicy',
      'headers',
    ],
    'spec.http[].match[]': [
      'name',
      'uri',
      'scheme',
      'method',
      'authority',
      'headers',
      'port',
      'sourceLabels',
      'gateways',
      'queryParams',
      'ignoreUriCase',
      'withoutHeaders',
      'sourceNamespace',
      'statPrefix',
    ],
    'spec.http[].match[].uri': STRING_MATCH,
    'spec.http[].match[].method': STRING_MATCH,
    'spec.http[].match[].headers.*': STRING_MATCH,
    'spec.http[].match[].withoutHeaders.*': STRING_MATCH,
    'spec.http[].match[].queryParams.*': STRING_MATCH,
    'spec.http[].route[]': ['destination', 'weight', 'headers'],
    'spec.http[].route[].destination': DESTINATION,
    'spec.http[].route[].destination.port': ['number'],
    'spec.http[].directResponse': ['status', 'body'],
    'spec.http[].directResponse.body': ['string', 'bytes'],
    'spec.http[].retries': [
      'attempts',
      'perTryTimeout',
      'retryOn',
      'retryRemoteLocalities',
      'retryIgnorePreviousHosts',
    ],
    'spec.http[].fault': ['delay', 'abort'],
    'spec.http[].fault.delay': ['fixedDelay', 'exponentialDelay', 'percentage', 'percent'],
    'spec.http[].fault.delay.percentage': PERCENT,
    'spec.http[].fault.abort': ['httpStatus', 'grpcStatus', 'http2Error', 'percentage'],
    'spec.http[].fault.abort.percentage': PERCENT,
    'spec.http[].mirror': DESTINATION,
    'spec.http[].mirror.port': ['number'],
    'spec.http[].mirrorPercentage': PERCENT,
    'spec.http[].rewrite': ['uri', 'authority', 'uriRegexRewrite'],
    'spec.http[].headers': ['request', 'response'],
    'spec.http[].headers.request': HEADER_OPERATIONS,
    'spec.http[].headers.response': HEADER_OPERATIONS,
  },
  DestinationRule: {
    spec: ['host', 'trafficPolicy', 'subsets', 'exportTo', 'workloadSelector'],
    ...under('spec.trafficPolicy', TRAFFIC_POLICY),
    'spec.subsets[]': ['name', 'labels', 'trafficPolicy'],
    ...under('spec.subsets[].trafficPolicy', TRAFFIC_POLICY),
    'spec.workloadSelector': ['matchLabels'],
  },
  ServiceEntry: {
    spec: [
      'hosts',
      'addresses',
      'ports',
      'location',
      'resolution',
      'endpoints',
      'workloadSelector',
      'exportTo',
      'subjectAltNames',
    ],
    'spec.ports[]': ['number', 'protocol', 'name', 'targetPort'],
    'spec.endpoints[]': ['address', 'ports', 'labels', 'network', 'locality', 'weight', 'serviceAccount'],
    'spec.workloadSelector': WORKLOAD_SELECTOR,
  },
  Sidecar: {
    spec: ['workloadSelector', 'ingress', 'egress', 'outboundTrafficPolicy', 'inboundConnectionPool'],
    'spec.workloadSelector': WORKLOAD_SELECTOR,
    'spec.egress[]': ['port', 'bind', 'captureMode', 'hosts'],
    'spec.outboundTrafficPolicy': ['mode', 'egressProxy'],
  },
  WorkloadEntry: {
    spec: ['address', 'ports', 'labels', 'network', 'locality', 'weight', 'serviceAccount'],
  },
  PeerAuthentication: {
    spec: ['selector', 'targetRef', 'targetRefs', 'mtls', 'portLevelMtls'],
    'spec.selector': ['matchLabels'],
    'spec.mtls': ['mode'],
    'spec.portLevelMtls.*': ['mode'],
  },
  AuthorizationPolicy: {
    spec: ['selector', 'targetRef', 'targetRefs', 'action', 'provider', 'rules'],
    'spec.selector': ['matchLabels'],
    'spec.rules[]': ['from', 'to', 'when'],
    'spec.rules[].from[]': ['source'],
    'spec.rules[].from[].source': [
      'principals',
      'notPrincipals',
      'requestPrincipals',
      'notRequestPrincipals',
      'namespaces',
      'notNamespaces',
      'serviceAccounts',
      'notServiceAccounts',
      'ipBlocks',
      'notIpBlocks',
      'remoteIpBlocks',
      'notRemoteIpBlocks',
    ],
    'spec.rules[].to[]': ['operation'],
    'spec.rules[].to[].operation': [
      'hosts',
      'notHosts',
      'ports',
      'notPorts',
      'methods',
      'notMethods',
      'paths',
      'notPaths',
    ],
    'spec.rules[].when[]': ['key', 'values', 'notValues'],
  },
  // Strait's MeshConfig carries a few of Istio's mesh-wide settings (Istio's MeshConfig, not a resource there).
  MeshConfig: {
    spec: [
      'outboundTrafficPolicy',
      'pathNormalization',
      'accessLogFile',
      'accessLogEncoding',
      'accessLogFormat',
      'enableTracing',
      'defaultConfig',
      'trustDomain',
      'rootNamespace',
      'defaultDestinationRuleExportTo',
      'defaultVirtualServiceExportTo',
      'extensionProviders',
      'defaultProviders',
      'meshMTLS',
    ],
    'spec.outboundTrafficPolicy': ['mode', 'egressProxy'],
    'spec.pathNormalization': ['normalization'],
    'spec.extensionProviders[]': [
      'name',
      'envoyExtAuthzHttp',
      'envoyExtAuthzGrpc',
      'zipkin',
      'datadog',
      'stackdriver',
      'skywalking',
      'opentelemetry',
      'prometheus',
      'envoyFileAccessLog',
      'envoyHttpAls',
      'envoyTcpAls',
      'envoyOtelAls',
    ],
    'spec.extensionProviders[].opentelemetry': [
      'service',
      'port',
      'maxTagLength',
      'http',
      'grpc',
      'resourceDetectors',
      'dynatraceSampler',
    ],
    'spec.extensionProviders[].opentelemetry.http': ['path', 'timeout', 'headers'],
    'spec.defaultProviders': ['tracing', 'metrics', 'accessLogging'],
  },
  // Istio's Telemetry (telemetry.istio.io/v1), its tracing part.
  Telemetry: {
    spec: ['selector', 'targetRef', 'targetRefs', 'tracing', 'metrics', 'accessLogging'],
    'spec.selector': ['matchLabels'],
    'spec.tracing[]': [
      'match',
      'providers',
      'randomSamplingPercentage',
      'disableSpanReporting',
      'customTags',
      'useRequestIdForTraceSampling',
      'enableIstioTags',
    ],
    'spec.tracing[].providers[]': ['name'],
  },
};

/** Fields every resource may carry at its top level and in its metadata. */
const ANY_KIND: Record<string, readonly string[]> = {
  '(root)': ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
  metadata: OBJECT_META,
};

/** The fields Istio has at `pattern` (e.g. `spec.http[]`) of a `kind`; empty where Istio has none. */
export function istioFieldsAt(kind: string, pattern: string): readonly string[] {
  return ISTIO_FIELDS[kind]?.[pattern] ?? ANY_KIND[pattern] ?? [];
}

/** Istio kinds outside networking's subset that users may send, so refusing one can say what it is. */
export const ISTIO_KINDS_NOT_SUPPORTED = [
  'RequestAuthentication',
  'EnvoyFilter',
  'ProxyConfig',
  'WasmPlugin',
  'WorkloadGroup',
] as const;
