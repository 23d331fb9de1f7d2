// The ports of docs/architecture.md (Istio's own numbers), the proxy's admin paths, and the names and numbers that
// translation and the proxies both rely on.

export const Ports = {
  gateway: 8080,
  app: 8080,
  /** The port mesh services are called on by their apps (`http://service-b/`). */
  meshService: 80,
  sidecarOutbound: 15001,
  sidecarInbound: 15006,
  egress: 15443,
  admin: 15000,
  stats: 15090,
  ready: 15021,
  discovery: 15010,
  monitoring: 15014,
  /** The mesh console (Kiali's port). */
  console: 20001,
} as const;

/** Paths on a proxy's admin (15000), stats (15090) and readiness (15021) ports. */
export const ProxyAdminPaths = {
  /** Stats port (and admin): Prometheus's exposition format. */
  stats: '/stats/prometheus',
  /** Readiness port: 200 once a config is applied and the proxy is not draining. */
  ready: '/healthz/ready',
  configDump: '/config_dump',
  clusters: '/clusters',
  serverInfo: '/server_info',
  /** Admin: the server state as one word (LIVE, INITIALIZING, DRAINING), as Envoy's /ready. */
  state: '/ready',
  logging: '/logging',
  drain: '/drain',
  /** Admin: the mesh certificate chain and trust bundle in force (never a private key), as Envoy's /certs. */
  certs: '/certs',
} as const;

/** The cluster a proxy forwards to when ALLOW_ANY lets a request through to its original destination. */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';

/** The egress gateway workload sidecars send external traffic to, unless MeshConfig names another. */
export const DEFAULT_EGRESS_WORKLOAD = 'istio-egressgateway';
