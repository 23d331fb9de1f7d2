// Strait proxies for the benchmark: bootstrap snapshots for one sidecar hop and for the demo's chain
// (ingress -> sidecar A -> A -> sidecar A -> sidecar B -> B), plain or with mutual TLS between the proxies,
// written to files and run with --bootstrap (and --cert-dir for the mesh certificate).
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ports, ProxyRuntime, type SnapshotInput, TLS_MODE_LABEL } from '@strait/api';
import { benchSpiffeId } from './mesh-certs.ts';
import { type Started, start, waitForHttp } from './processes.ts';

export const PROXY_MAIN = 'packages/proxy/src/main.ts';
/** The command users run: it starts the built bundle when that is current, else the sources. */
export const PROXY_BIN = 'packages/proxy/bin/strait-proxy.mjs';
const PROXY_BUNDLE = 'packages/proxy/dist/strait-proxy.mjs';

export function proxyAvailable(repoRoot: string): boolean {
  return existsSync(join(repoRoot, PROXY_MAIN));
}

/** Newest modification time of the non-test .ts files under a folder. */
function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

export interface ProxyLaunch {
  /** Script given to node. */
  script: string;
  /** What actually runs, for the report: the bundle or the TypeScript sources. */
  runs: 'bundle' | 'sources';
  env: NodeJS.ProcessEnv;
}

/**
 * How Strait proxies are started: through the strait-proxy command when it exists (as users run it),
 * which picks the bundle if it is newer than the sources (same rule as the command itself), or
 * the sources with `forceSources`. Without the command, the sources' main.ts.
 */
export function proxyLaunch(repoRoot: string, forceSources: boolean): ProxyLaunch {
  const bin = join(repoRoot, PROXY_BIN);
  if (!existsSync(bin)) return { script: join(repoRoot, PROXY_MAIN), runs: 'sources', env: process.env };
  if (forceSources)
    return { script: bin, runs: 'sources', env: { ...process.env, STRAIT_PROXY_SOURCE: '1' } };
  const bundle = join(repoRoot, PROXY_BUNDLE);
  const current =
    existsSync(bundle) &&
    ['packages/proxy/src', 'packages/api/src'].every(
      (dir) => newestSource(join(repoRoot, dir)) <= statSync(bundle).mtimeMs,
    );
  return { script: bin, runs: current ? 'bundle' : 'sources', env: process.env };
}

export const SERVICE_B_DOMAINS = ['service-b', 'service-b.default', 'service-b.default.svc.cluster.local'];

function catchAllHost(name: string, cluster: string, domains: string[] = ['*']) {
  return {
    name,
    domains,
    routes: [
      { name: 'default', match: { path: { prefix: '/' } }, route: { clusters: [{ cluster, weight: 100 }] } },
    ],
  };
}

/** How a sidecar's inbound takes connections (PeerAuthentication's mode); absent: plain text only. */
export type InboundMtls = 'STRICT' | 'PERMISSIVE';

function inboundListener(appCluster: string, mtls: InboundMtls | undefined) {
  return {
    name: `inbound_${Ports.sidecarInbound}`,
    kind: 'inbound' as const,
    port: Ports.sidecarInbound,
    virtualHosts: [catchAllHost('inbound', appCluster)],
    ...(mtls ? { tls: { mode: mtls } } : {}),
  };
}

/** Upstream mutual TLS to a mesh service's sidecars, expecting that service's identity. */
function meshTls(service: string) {
  return { tls: { mode: 'ISTIO_MUTUAL' as const, subjectAltNames: [benchSpiffeId(service)] } };
}

/** The label that says an endpoint has a sidecar taking mTLS (the proxy sends ISTIO_MUTUAL only there). */
const withSidecar = (mtls: unknown) => (mtls ? { labels: { [TLS_MODE_LABEL]: 'istio' } } : {});

/** A sidecar in front of one app, with an inbound listener only (plus an empty outbound one). */
export function sidecarSnapshot(options: {
  appAddress: string;
  appPort: number;
  appWorkload: string;
  outbound?: { service: string; domains: string[]; endpoints: { address: string; workload: string }[] };
  /** Inbound takes mutual TLS (and outbound calls make it). */
  mtls?: InboundMtls;
}): SnapshotInput {
  const appCluster = `inbound|${options.appPort}||`;
  const listeners: SnapshotInput['listeners'] = [inboundListener(appCluster, options.mtls)];
  const clusters: SnapshotInput['clusters'] = [
    {
      name: appCluster,
      endpoints: [{ address: options.appAddress, port: options.appPort, workload: options.appWorkload }],
    },
  ];
  const outbound = options.outbound;
  const outboundHosts = [];
  if (outbound) {
    const cluster = `outbound|80||${outbound.service}`;
    outboundHosts.push(catchAllHost(`${outbound.service}:80`, cluster, outbound.domains));
    clusters.push({
      name: cluster,
      service: outbound.service,
      ...(options.mtls ? meshTls(outbound.service) : {}),
      endpoints: outbound.endpoints.map((e) => ({
        address: e.address,
        port: Ports.sidecarInbound,
        workload: e.workload,
        namespace: 'default',
        ...withSidecar(options.mtls),
      })),
    });
  }
  listeners.push({
    name: `outbound_${Ports.sidecarOutbound}`,
    kind: 'outbound',
    port: Ports.sidecarOutbound,
    virtualHosts: outboundHosts,
  });
  return {
    version: '',
    listeners,
    clusters,
    egress: { mode: 'REGISTRY_ONLY', allow: [] },
    telemetry: { accessLog: true },
  };
}

/**
 * The ingress gateway: every request on :8080 goes to one service's pod (service A's by default; its
 * sidecar's :15006 by default), over mutual TLS with `mtls`.
 */
export function ingressSnapshot(serviceA: {
  address: string;
  workload: string;
  port?: number;
  service?: string;
  mtls?: boolean;
}): SnapshotInput {
  const service = serviceA.service ?? 'service-a';
  const cluster = `outbound|80||${service}`;
  return {
    version: '',
    listeners: [
      {
        name: `gateway_${Ports.gateway}`,
        kind: 'gateway',
        port: Ports.gateway,
        virtualHosts: [catchAllHost('ingress', cluster)],
      },
    ],
    clusters: [
      {
        name: cluster,
        service,
        ...(serviceA.mtls ? meshTls(service) : {}),
        endpoints: [
          {
            address: serviceA.address,
            port: serviceA.port ?? Ports.sidecarInbound,
            workload: serviceA.workload,
            namespace: 'default',
            ...withSidecar(serviceA.mtls),
          },
        ],
      },
    ],
    telemetry: { accessLog: true },
  };
}

export interface ProxySpec {
  name: string;
  role: 'ingress' | 'sidecar';
  address: string;
  workload: string;
  service?: string;
  appAddress?: string;
  appPort?: number;
  snapshot: SnapshotInput;
  /** strait-proxy --workers (a gateway's data-plane processes); omitted = the single process. */
  workers?: number;
  /** strait-proxy --cert-dir: the mesh certificate it presents (mTLS rows). */
  certDir?: string;
}

/** Writes the snapshot, starts the proxy (access log on, to a file) and waits until it is ready. */
export async function startProxy(
  repoRoot: string,
  workDir: string,
  spec: ProxySpec,
  launch: ProxyLaunch,
  extraNodeArgs: string[] = [],
): Promise<Started> {
  const snapshot = { ...spec.snapshot, version: `bench-${spec.name}` };
  const file = join(workDir, `${spec.name}.snapshot.json`);
  writeFileSync(file, JSON.stringify(snapshot, null, 2));
  const args = [
    ...ProxyRuntime.nodeArgs,
    ...extraNodeArgs,
    launch.script,
    '--role',
    spec.role,
    '--id',
    spec.name,
    '--workload',
    spec.workload,
    '--address',
    spec.address,
    '--bootstrap',
    file,
    '--access-log',
    '--log-level',
    'warn',
  ];
  if (spec.service) args.push('--service', spec.service, '--version', 'v1');
  if (spec.appAddress) args.push('--app-address', spec.appAddress);
  if (spec.appPort) args.push('--app-port', String(spec.appPort));
  if (spec.workers !== undefined) args.push('--workers', String(spec.workers));
  if (spec.certDir) args.push('--cert-dir', spec.certDir);
  // The access log (JSON lines on stdout) goes to a file in the work directory.
  const proc = start(workDir, {
    name: spec.name,
    command: process.execPath,
    args,
    cwd: repoRoot,
    // The runtime settings Strait proxies ship with (@strait/api ProxyRuntime, as in npm start and compose.yaml).
    env: { ...launch.env, ...ProxyRuntime.env },
  });
  await waitForHttp(`http://${spec.address}:${Ports.ready}/healthz/ready`, proc, 20_000, (s) => s === 200);
  return proc;
}
