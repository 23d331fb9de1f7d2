// What the benchmark measures, side by side against the same upstream: direct, nginx, HAProxy, one Strait
// sidecar hop, one mesh hop (ingress -> sidecar) plain and over mTLS, and the demo-shaped chain through
// Strait, plain and over mTLS, next to the same two apps called directly.
// Each target starts fresh proxy processes for each measurement and says which processes are "the proxy".
import { Ports } from '@strait/api';
import { type Address, haproxyCommand, nginxCommand } from './baselines.ts';
import { certDirFor } from './mesh-certs.ts';
import { type Started, start, waitForHttp } from './processes.ts';
import {
  type InboundMtls,
  ingressSnapshot,
  type ProxyLaunch,
  type ProxySpec,
  SERVICE_B_DOMAINS,
  sidecarSnapshot,
  startProxy,
} from './strait.ts';
import type { Tools } from './tools.ts';

export type TargetKey =
  | 'direct'
  | 'nginx'
  | 'haproxy'
  | 'floor'
  | 'floor-llhttp'
  | 'strait'
  | 'strait-tracing-1'
  | 'strait-tracing-100'
  | 'chain-direct'
  | 'chain-strait'
  | 'strait-workers-1'
  | 'strait-workers-2'
  | 'hop-plain'
  | 'hop-mtls'
  | 'chain-strait-mtls';

/** Issue 11's rows: a mesh hop and the demo chain over mutual TLS, each next to the same in plain text. */
export const MTLS_TARGETS: TargetKey[] = ['hop-plain', 'hop-mtls', 'chain-strait-mtls'];

/** The gateway scaling rows: an ingress gateway with --workers 1 and with --workers 2. */
export const WORKER_TARGETS: TargetKey[] = ['strait-workers-1', 'strait-workers-2'];

/** Issue 16's rows: the same hop with tracing at 1 % and at 100 % (the plain hop is tracing off). */
export const TRACING_TARGETS: TargetKey[] = ['strait-tracing-1', 'strait-tracing-100'];

/** Rows measured unless --only names others (the scaling rows too: issue 5 asks for the scaling measured). */
export const DEFAULT_TARGETS: TargetKey[] = [
  'direct',
  'nginx',
  'haproxy',
  'floor',
  'floor-llhttp',
  'strait',
  ...TRACING_TARGETS,
  'chain-direct',
  'chain-strait',
  ...WORKER_TARGETS,
  ...MTLS_TARGETS,
];

/** The address plan, all inside 127.0.120.0/24 (the control plane uses 127.0.121.0/24). */
export const ADDR = {
  upstream: { host: '127.0.120.1', port: 8080 },
  nginx: { host: '127.0.120.2', port: 8080 },
  haproxy: { host: '127.0.120.3', port: 8080 },
  straitHop: { host: '127.0.120.4', port: Ports.sidecarInbound },
  floor: { host: '127.0.120.5', port: 8080 },
  floorLlhttp: { host: '127.0.120.6', port: 8080 },
  straitTracing1: { host: '127.0.120.7', port: Ports.sidecarInbound },
  straitTracing100: { host: '127.0.120.8', port: Ports.sidecarInbound },
  ingress: { host: '127.0.120.10', port: Ports.gateway },
  podA: '127.0.120.11',
  podB: '127.0.120.12',
  directA: { host: '127.0.120.13', port: 8080 },
  /** Ingress gateways straight in front of the upstream, with --workers 1 and 2. */
  gatewayWorkers1: { host: '127.0.120.20', port: Ports.gateway },
  gatewayWorkers2: { host: '127.0.120.21', port: Ports.gateway },
  /** The mesh hop: a sidecar in front of the upstream (its pod address) and an ingress gateway before it. */
  meshHopSidecar: '127.0.120.30',
  meshHopIngress: { host: '127.0.120.31', port: Ports.gateway },
  /** The sidecar new connections are measured against (PERMISSIVE: plain and mTLS on one port). */
  handshakeSidecar: '127.0.120.32',
} as const;

export interface TargetContext {
  repoRoot: string;
  workDir: string;
  tools: Tools;
  /** Extra node flags for Strait proxies (e.g. --cpu-prof). */
  proxyNodeArgs: string[];
  /** How Strait proxies are started (the strait-proxy command: bundle or sources). */
  proxyLaunch: ProxyLaunch;
}

export interface Target {
  key: TargetKey;
  label: string;
  url: string;
  /** The target whose latency is subtracted to give "added latency". */
  baseline: TargetKey | undefined;
  /** Starts the target's proxies (none for direct targets) and returns them, ready. */
  start(ctx: TargetContext): Promise<Started[]>;
}

const url = (a: Address): string => `http://${a.host}:${a.port}/`;

async function startBinary(
  ctx: TargetContext,
  name: string,
  argv: string[],
  listen: Address,
): Promise<Started[]> {
  const [command, ...args] = argv as [string, ...string[]];
  const proc = start(ctx.workDir, { name, command, args });
  await waitForHttp(url(listen), proc, 10_000);
  return [proc];
}

/** One Strait proxy in front of the upstream, measured against the direct path. */
function singleProxy(key: TargetKey, label: string, listen: Address, spec: ProxySpec): Target {
  return {
    key,
    label,
    url: url(listen),
    baseline: 'direct',
    start: async (ctx) => [await launcher(ctx)(spec)],
  };
}

/** An ingress gateway routing every request to the upstream, run as `strait-proxy --workers N`. */
function gatewayWithWorkers(key: TargetKey, workers: number, listen: Address): Target {
  return singleProxy(key, `Strait ingress gateway --workers ${workers}`, listen, {
    name: `gateway-workers-${workers}`,
    role: 'ingress',
    address: listen.host,
    workload: 'istio-ingressgateway',
    workers,
    snapshot: ingressSnapshot({
      address: ADDR.upstream.host,
      port: ADDR.upstream.port,
      workload: 'bench-upstream',
    }),
  });
}

/**
 * One sidecar hop in front of the upstream (inbound listener, metrics and access log on). With a sampling
 * percentage it also traces, exporting OTLP/HTTP to the upstream app, which takes the POSTs like any
 * request: what the spans cost the proxy is in its own CPU.
 */
function sidecarHop(
  key: TargetKey,
  label: string,
  name: string,
  listen: Address,
  tracingPercent?: number,
): Target {
  const snapshot = sidecarSnapshot({
    appAddress: ADDR.upstream.host,
    appPort: ADDR.upstream.port,
    appWorkload: 'bench-hop',
  });
  if (tracingPercent !== undefined)
    snapshot.telemetry = {
      accessLog: true,
      tracing: {
        provider: 'bench',
        samplingPercentage: tracingPercent,
        collector: { host: ADDR.upstream.host, port: ADDR.upstream.port, path: '/v1/traces' },
      },
    };
  return singleProxy(key, label, listen, {
    name,
    role: 'sidecar',
    address: listen.host,
    workload: 'bench-hop',
    service: 'bench-hop',
    appAddress: ADDR.upstream.host,
    appPort: ADDR.upstream.port,
    snapshot,
  });
}

/** A minimal Node proxy from bench/apps in front of the upstream: what Node itself costs per hop. */
function floorProxy(key: TargetKey, label: string, script: string, listen: Address): Target {
  return {
    key,
    label,
    url: url(listen),
    baseline: 'direct',
    start: (ctx) =>
      startBinary(
        ctx,
        script.replace(/\.mjs$/, ''),
        [
          process.execPath,
          `${ctx.repoRoot}/bench/apps/${script}`,
          '--listen',
          `${listen.host}:${listen.port}`,
          '--upstream',
          `http://${ADDR.upstream.host}:${ADDR.upstream.port}`,
        ],
        listen,
      ),
  };
}

/** Starts one Strait proxy the way every row does (the context's launch and node flags). */
export function launcher(ctx: TargetContext): (spec: ProxySpec) => Promise<Started> {
  return (spec) => startProxy(ctx.repoRoot, ctx.workDir, spec, ctx.proxyLaunch, ctx.proxyNodeArgs);
}

/** A sidecar of the bench-hop workload at `address`, in front of the upstream app. */
export function hopSidecar(name: string, address: string, mtls: InboundMtls | undefined): ProxySpec {
  return {
    name,
    role: 'sidecar',
    address,
    workload: 'bench-hop',
    service: 'bench-hop',
    appAddress: ADDR.upstream.host,
    appPort: ADDR.upstream.port,
    snapshot: sidecarSnapshot({
      appAddress: ADDR.upstream.host,
      appPort: ADDR.upstream.port,
      appWorkload: 'bench-hop',
      ...(mtls ? { mtls } : {}),
    }),
  };
}

/** The bench's mesh certificate for service account `sa`, when the row runs mTLS. */
async function certDir(ctx: TargetContext, mtls: boolean, sa: string): Promise<{ certDir?: string }> {
  return mtls ? { certDir: await certDirFor(ctx.workDir, sa) } : {};
}

/**
 * One mesh hop: an ingress gateway calling a sidecar in front of the upstream app, the hop between them
 * plain or mutual TLS (STRICT inbound, ISTIO_MUTUAL upstream kept alive). Both proxies are measured.
 */
function meshHop(key: TargetKey, label: string, mtls: boolean): Target {
  return {
    key,
    label,
    url: url(ADDR.meshHopIngress),
    baseline: 'direct',
    start: async (ctx) => {
      const launch = launcher(ctx);
      const sidecar = await launch({
        ...hopSidecar(`${key}-sidecar`, ADDR.meshHopSidecar, mtls ? 'STRICT' : undefined),
        ...(await certDir(ctx, mtls, 'bench-hop')),
      });
      const ingress = await launch({
        name: `${key}-ingress`,
        role: 'ingress',
        address: ADDR.meshHopIngress.host,
        workload: 'istio-ingressgateway',
        snapshot: ingressSnapshot({
          address: ADDR.meshHopSidecar,
          workload: 'bench-hop',
          service: 'bench-hop',
          mtls,
        }),
        ...(await certDir(ctx, mtls, 'istio-ingressgateway')),
      });
      return [ingress, sidecar];
    },
  };
}

/** The demo-shaped chain through three Strait proxies, its mesh hops plain or mutual TLS. */
function demoChain(key: TargetKey, label: string, mtls: boolean): Target {
  const inbound = mtls ? { mtls: 'STRICT' as const } : {};
  const prefix = mtls ? 'mtls-' : '';
  return {
    key,
    label,
    url: url(ADDR.ingress),
    baseline: 'chain-direct',
    start: async (ctx) => {
      // Started downstream-first so every hop has its upstream listening when traffic starts.
      const launch = launcher(ctx);
      const sidecarB = await launch({
        name: `${prefix}sidecar-b`,
        role: 'sidecar',
        address: ADDR.podB,
        workload: 'service-b-v1',
        service: 'service-b',
        appAddress: ADDR.podB,
        appPort: 8080,
        snapshot: sidecarSnapshot({
          appAddress: ADDR.podB,
          appPort: 8080,
          appWorkload: 'service-b-v1',
          ...inbound,
        }),
        ...(await certDir(ctx, mtls, 'service-b')),
      });
      const sidecarA = await launch({
        name: `${prefix}sidecar-a`,
        role: 'sidecar',
        address: ADDR.podA,
        workload: 'service-a-v1',
        service: 'service-a',
        appAddress: ADDR.podA,
        appPort: 8080,
        snapshot: sidecarSnapshot({
          appAddress: ADDR.podA,
          appPort: 8080,
          appWorkload: 'service-a-v1',
          outbound: {
            service: 'service-b',
            domains: SERVICE_B_DOMAINS,
            endpoints: [{ address: ADDR.podB, workload: 'service-b-v1' }],
          },
          ...inbound,
        }),
        ...(await certDir(ctx, mtls, 'service-a')),
      });
      const ingress = await launch({
        name: `${prefix}ingress`,
        role: 'ingress',
        address: ADDR.ingress.host,
        workload: 'istio-ingressgateway',
        snapshot: ingressSnapshot({ address: ADDR.podA, workload: 'service-a-v1', mtls }),
        ...(await certDir(ctx, mtls, 'istio-ingressgateway')),
      });
      return [ingress, sidecarA, sidecarB];
    },
  };
}

export const TARGETS: Target[] = [
  { key: 'direct', label: 'direct', url: url(ADDR.upstream), baseline: undefined, start: async () => [] },
  {
    key: 'nginx',
    label: 'nginx (1 worker)',
    url: url(ADDR.nginx),
    baseline: 'direct',
    start: (ctx) =>
      startBinary(
        ctx,
        'nginx',
        nginxCommand(ctx.tools.nginx as string, ctx.workDir, ADDR.nginx, ADDR.upstream),
        ADDR.nginx,
      ),
  },
  {
    key: 'haproxy',
    label: 'HAProxy (nbthread 1)',
    url: url(ADDR.haproxy),
    baseline: 'direct',
    start: (ctx) =>
      startBinary(
        ctx,
        'haproxy',
        haproxyCommand(ctx.tools.haproxy as string, ctx.workDir, ADDR.haproxy, ADDR.upstream),
        ADDR.haproxy,
      ),
  },
  floorProxy('floor', 'bare node:http + undici proxy (floor)', 'bare-proxy.mjs', ADDR.floor),
  floorProxy(
    'floor-llhttp',
    'bare node:net + llhttp proxy (lowest floor)',
    'llhttp-floor.mjs',
    ADDR.floorLlhttp,
  ),
  sidecarHop('strait', 'Strait sidecar (1 hop)', 'strait-hop', ADDR.straitHop),
  sidecarHop(
    'strait-tracing-1',
    'Strait sidecar (1 hop), tracing 1 %',
    'strait-hop-tracing-1',
    ADDR.straitTracing1,
    1,
  ),
  sidecarHop(
    'strait-tracing-100',
    'Strait sidecar (1 hop), tracing 100 %',
    'strait-hop-tracing-100',
    ADDR.straitTracing100,
    100,
  ),
  {
    key: 'chain-direct',
    label: 'apps A→B direct',
    url: url(ADDR.directA),
    baseline: undefined,
    start: async () => [],
  },
  demoChain('chain-strait', 'ingress→sidecar A→A→sidecar A→sidecar B→B', false),
  gatewayWithWorkers('strait-workers-1', 1, ADDR.gatewayWorkers1),
  gatewayWithWorkers('strait-workers-2', 2, ADDR.gatewayWorkers2),
  meshHop('hop-plain', 'ingress→sidecar→app, plain text', false),
  meshHop('hop-mtls', 'ingress→sidecar→app, mTLS', true),
  demoChain('chain-strait-mtls', 'ingress→sidecar A→A→sidecar A→sidecar B→B, mTLS', true),
];

/** The apps every run needs, started once: the 1 KB upstream, service B, and service A twice. */
export async function startApps(ctx: TargetContext, benchDir: string): Promise<Started[]> {
  const app = `${benchDir}/apps/app.ts`;
  const specs: { name: string; args: string[]; ready: string }[] = [
    {
      name: 'upstream',
      args: ['--listen', `${ADDR.upstream.host}:${ADDR.upstream.port}`],
      ready: url(ADDR.upstream),
    },
    { name: 'app-b', args: ['--listen', `${ADDR.podB}:8080`], ready: `http://${ADDR.podB}:8080/` },
    {
      name: 'app-a-direct',
      args: ['--listen', `${ADDR.directA.host}:${ADDR.directA.port}`, '--call', `http://${ADDR.podB}:8080/`],
      ready: url(ADDR.directA),
    },
    {
      name: 'app-a-mesh',
      args: ['--listen', `${ADDR.podA}:8080`, '--call', 'http://service-b/', '--proxy', `${ADDR.podA}:15001`],
      // Its outbound sidecar is not up yet, so the app answers 502 here; any answer means it listens.
      ready: `http://${ADDR.podA}:8080/`,
    },
  ];
  const started: Started[] = [];
  for (const spec of specs) {
    const proc = start(ctx.workDir, {
      name: spec.name,
      command: process.execPath,
      args: [app, ...spec.args],
    });
    started.push(proc);
    await waitForHttp(spec.ready, proc, 10_000, () => true);
  }
  return started;
}
