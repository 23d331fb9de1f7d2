// Command-line flags and STRAIT_* environment variables of strait-proxy, parsed in one place.
// node:util parseArgs is enough for flat flags; it rejects unknown ones, which we want.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_TRUST_DOMAIN, NODE_ROLES, type NodeRole, Ports } from '@strait/api';
import { parseControlPlaneUrls } from '../xds/endpoints.ts';

export interface ProxyOptions {
  role: NodeRole;
  id: string;
  workload: string;
  namespace: string;
  service: string | undefined;
  version: string | undefined;
  /** The pod address: data listeners bind here, and the control plane is told it. */
  address: string;
  /** Where a sidecar's outbound listener (:15001, the app's HTTP proxy) binds; default `address`. */
  outboundAddress: string;
  appAddress: string;
  appPort: number;
  /** The control-plane replicas' URLs (--control-plane URL,URL,...); the proxy fails over between them. */
  controlPlane: string[] | undefined;
  bootstrap: string | undefined;
  token: string | undefined;
  /** The mesh join token, or the file holding it: the proxy then gets a mesh certificate (mTLS). */
  joinToken: string | undefined;
  joinTokenFile: string | undefined;
  /** A directory holding cert-chain.pem, key.pem and root-cert.pem (Istio's file-mounted certificates). */
  certDir: string | undefined;
  trustDomain: string;
  adminAddress: string;
  statsAddress: string;
  adminPort: number;
  statsPort: number;
  readyPort: number;
  accessLog: boolean;
  logLevel: string;
  /** How long a client may take to send its request headers. */
  headersTimeoutMs: number;
  /** How long SIGTERM waits for in-flight requests. */
  drainTimeoutMs: number;
  /** Processes serving the data listeners; 1 is the plain single process, N > 1 a primary and N workers. */
  workers: number;
  /** Requests sent through the proxy's own path before its listeners open (warm-up/warmup.ts); 0 = none. */
  warmupRequests: number;
}

/** Warm-up requests by default: enough for V8 to have optimised the request path (see warmup/warmup.ts). */
export const DEFAULT_WARMUP_REQUESTS = 1000;

/** Most --workers accepted: far above any core count this proxy is meant for, low enough to catch typos. */
export const MAX_WORKERS = 64;

const FLAGS = {
  role: { type: 'string' },
  id: { type: 'string' },
  workload: { type: 'string' },
  namespace: { type: 'string' },
  service: { type: 'string' },
  version: { type: 'string' },
  address: { type: 'string' },
  'outbound-address': { type: 'string' },
  'app-address': { type: 'string' },
  'app-port': { type: 'string' },
  'control-plane': { type: 'string' },
  bootstrap: { type: 'string' },
  token: { type: 'string' },
  'join-token': { type: 'string' },
  'join-token-file': { type: 'string' },
  'cert-dir': { type: 'string' },
  'trust-domain': { type: 'string' },
  'admin-address': { type: 'string' },
  'stats-address': { type: 'string' },
  'admin-port': { type: 'string' },
  'stats-port': { type: 'string' },
  'ready-port': { type: 'string' },
  'access-log': { type: 'boolean' },
  'no-access-log': { type: 'boolean' },
  'log-level': { type: 'string' },
  'headers-timeout-ms': { type: 'string' },
  'drain-timeout-ms': { type: 'string' },
  workers: { type: 'string' },
  'warmup-requests': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const USAGE = `usage: strait-proxy --role ingress|sidecar|egress (--control-plane URL[,URL...] | --bootstrap FILE) [options]
  --control-plane  one URL per control-plane replica (a name resolving to several addresses counts as several);
                   on a broken stream the proxy fails over to the next, keeping its config meanwhile
  --id ID  --workload NAME  --namespace NS  --service NAME  --version V
  --address IP (pod address, default 127.0.0.1)  --app-address IP  --app-port N (default 8080)
  --outbound-address IP (sidecar: where :15001 binds, default --address; 127.0.0.1 when the app shares the pod's network)
  --admin-address IP  --stats-address IP  --admin-port N  --stats-port N  --ready-port N
  --join-token-file FILE | --join-token T (the mesh's join token: get a certificate, talk mTLS)  --trust-domain TD (default ${DEFAULT_TRUST_DOMAIN})
  --cert-dir DIR (a certificate from files instead: cert-chain.pem, key.pem, root-cert.pem; read at start)
  --token T  --[no-]access-log  --log-level LEVEL  --headers-timeout-ms N  --drain-timeout-ms N
  --workers N (default 1; for gateways: N processes share the data listeners, one admin/stats/discovery)
  --warmup-requests N (default ${DEFAULT_WARMUP_REQUESTS}; sent through the proxy's own path on loopback before its listeners open, 0 = none)
Every flag can also be set as STRAIT_<FLAG> (e.g. STRAIT_CONTROL_PLANE).`;

/** A usage problem: main prints it with USAGE and exits 2. */
export class UsageError extends Error {}

function envName(flag: string): string {
  return `STRAIT_${flag.toUpperCase().replaceAll('-', '_')}`;
}

function portNumber(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--${flag}: expected a port number, got "${raw}"`);
  return n;
}

function positive(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${flag}: expected a positive number, got "${raw}"`);
  return n;
}

function count(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new UsageError(`--${flag}: expected a whole number (0 or more), got "${raw}"`);
  return n;
}

function workerCount(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
    throw new UsageError(`--workers: expected a whole number from 1 to ${MAX_WORKERS}, got "${raw}"`);
  return n;
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === 'localhost';
}

/** Parses argv (without node and script) and the environment; throws UsageError on bad input. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ProxyOptions | 'help' {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const get = (flag: keyof typeof FLAGS): string | undefined => {
    const value = v[flag];
    if (typeof value === 'string') return value;
    return env[envName(flag)];
  };

  const roleRaw = get('role');
  if (!NODE_ROLES.includes(roleRaw as NodeRole))
    throw new UsageError(`--role: expected ingress, sidecar or egress, got "${roleRaw ?? ''}"`);
  const role = { data: roleRaw as NodeRole };
  const controlPlaneText = get('control-plane');
  const bootstrap = get('bootstrap');
  if (!controlPlaneText && !bootstrap)
    throw new UsageError('one of --control-plane or --bootstrap is needed');
  let controlPlane: string[] | undefined;
  try {
    controlPlane = controlPlaneText ? parseControlPlaneUrls(controlPlaneText) : undefined;
  } catch (err) {
    throw new UsageError(`--control-plane: ${(err as Error).message}`);
  }

  // One source of certificates: the CA's rotations would not replace a file-mounted one.
  if (get('cert-dir') && (get('join-token') || get('join-token-file')))
    throw new UsageError('--cert-dir and --join-token(-file) are two sources of certificates: give one');

  const address = get('address') ?? '127.0.0.1';
  if (isIP(address) === 0) throw new UsageError(`--address: expected an IP address, got "${address}"`);
  const outboundAddress = get('outbound-address') ?? address;
  if (isIP(outboundAddress) === 0)
    throw new UsageError(`--outbound-address: expected an IP address, got "${outboundAddress}"`);
  const defaultWorkload =
    role.data === 'ingress'
      ? 'istio-ingressgateway'
      : role.data === 'egress'
        ? 'istio-egressgateway'
        : undefined;
  const workload = get('workload') ?? defaultWorkload;
  if (!workload) throw new UsageError('--workload is needed for a sidecar');

  let accessLog = true;
  if (v['no-access-log']) accessLog = false;
  else if (v['access-log']) accessLog = true;
  else if (env.STRAIT_ACCESS_LOG !== undefined)
    accessLog = !/^(0|false|no|off)$/i.test(env.STRAIT_ACCESS_LOG);

  return {
    role: role.data,
    // Unique without configuration: hostname tells containers apart, pid tells local processes apart.
    id: get('id') ?? `${workload}-${hostname()}-${process.pid}`,
    workload,
    namespace: get('namespace') ?? 'default',
    service: get('service'),
    version: get('version'),
    address,
    outboundAddress,
    appAddress: get('app-address') ?? address,
    appPort: portNumber('app-port', get('app-port'), Ports.app),
    controlPlane,
    bootstrap,
    token: get('token'),
    joinToken: get('join-token'),
    joinTokenFile: get('join-token-file'),
    certDir: get('cert-dir'),
    trustDomain: get('trust-domain') ?? DEFAULT_TRUST_DOMAIN,
    adminAddress: get('admin-address') ?? (isLoopback(address) ? address : '127.0.0.1'),
    statsAddress: get('stats-address') ?? address,
    adminPort: portNumber('admin-port', get('admin-port'), Ports.admin),
    statsPort: portNumber('stats-port', get('stats-port'), Ports.stats),
    readyPort: portNumber('ready-port', get('ready-port'), Ports.ready),
    accessLog,
    logLevel: get('log-level') ?? 'info',
    headersTimeoutMs: positive('headers-timeout-ms', get('headers-timeout-ms'), 10_000),
    drainTimeoutMs: positive('drain-timeout-ms', get('drain-timeout-ms'), 15_000),
    workers: workerCount(get('workers')),
    warmupRequests: count('warmup-requests', get('warmup-requests'), DEFAULT_WARMUP_REQUESTS),
  };
}

/** Where the admin (:15000), stats (:15090) and readiness (:15021) servers bind, as startAdminServers takes it. */
export function adminBindings(
  o: ProxyOptions,
): Pick<ProxyOptions, 'adminAddress' | 'adminPort' | 'statsAddress' | 'statsPort' | 'readyPort'> {
  return {
    adminAddress: o.adminAddress,
    adminPort: o.adminPort,
    statsAddress: o.statsAddress,
    statsPort: o.statsPort,
    readyPort: o.readyPort,
  };
}
