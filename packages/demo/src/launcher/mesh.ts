// Starts the whole demo mesh as local processes on an address plan, waits until it is ready,
// and stops it again: the one launcher behind `npm start` and the end-to-end tests. With `ha`, the control
// plane runs as two replicas sharing a three-member etcd cluster, and every proxy knows both.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiPaths,
  mergeProxyStatuses,
  Ports,
  ProxyAdminPaths,
  ProxyRuntime,
  type ProxyStatus,
  type ProxyStatusList,
} from '@strait/api';
import {
  type AddressPlan,
  AppPort,
  ControlPlane,
  Egress,
  ExternalApi,
  Ingress,
  LocalPlan,
  Pods,
  PrometheusPort,
  podAddress,
  proxyIds,
  Upstreams,
} from '../topology.ts';
import { ETCD_INSTALL_HINT, EtcdCluster, etcdInstalled } from './etcd.ts';
import { prepareConfigDir } from './mesh-config.ts';
import { ManagedProcess, type ProcessSpec } from './processes.ts';
import { findPrometheus, preparePrometheus } from './prometheus.ts';
import { httpStatus, waitForOk, waitUntil } from './wait.ts';

export const RepoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
// The strait-proxy command: the built bundle when current (npm start builds it), else the sources.
const ProxyMain = join(RepoRoot, 'packages/proxy/bin/strait-proxy.mjs');
const ControlPlaneMain = join(RepoRoot, 'packages/control-plane/src/main.ts');
const DemoMain = join(RepoRoot, 'packages/demo/src/main.ts');

export interface MeshOptions {
  plan?: AddressPlan;
  /** Holds the control plane's config dir and Prometheus's files. Default <repo>/.tmp/demo. */
  stateDir?: string;
  /** One <name>.log per process. Default <repo>/.tmp/logs. */
  logDir?: string;
  /** 'auto' (default): start Prometheus when the binary is on PATH. */
  prometheus?: boolean | 'auto';
  scrapeIntervalSeconds?: number;
  /** Start the traffic generator at this many requests per second (0 = do not). */
  trafficRate?: number;
  /** Two control-plane replicas on a three-member etcd cluster (Debian's etcd-server) instead of one. */
  ha?: boolean;
  readyTimeoutMs?: number;
  /** Aborting stops whatever has started and makes startMesh reject. */
  signal?: AbortSignal;
  /** Where the control plane keeps its API token; default <configDir>/.strait/api-token (`npm start`: straitctl's file). */
  apiTokenFile?: string;
  /** Progress messages (default: none). */
  progress?: (message: string) => void;
}

export interface Mesh {
  plan: AddressPlan;
  stateDir: string;
  logDir: string;
  configDir: string;
  ingressUrl: string;
  /** The first replica's API. */
  controlPlaneUrl: string;
  /** Every replica's API (one without --ha). */
  controlPlaneUrls: string[];
  monitoringUrl: string;
  /** With --ha: the etcd cluster the replicas share. */
  etcd: EtcdCluster | undefined;
  /** The mesh console (graph, proxies, config, egress). */
  consoleUrl: string;
  /** Set when Prometheus was started. */
  prometheusUrl: string | undefined;
  /** The control plane's API token file (resource writes, snapshot reads). */
  apiTokenFile: string;
  /** The mesh join token file the proxies are given. */
  joinTokenFile: string;
  processes: Map<string, ManagedProcess>;
  /** The process by name (e.g. "service-b-v1-1-app", "control-plane"); throws if unknown. */
  process(name: string): ManagedProcess;
  /** Stops everything (SIGTERM, then SIGKILL after a grace period); safe to call twice. */
  stop(): Promise<void>;
}

/** A proxy's place in the mesh, as the launcher runs it. */
export interface ProxyLaunch {
  id: string;
  name: string;
  statsAddress: string;
  args: string[];
}

/** The command line of every proxy in the plan: the ingress, the egress gateway and one sidecar per pod. */
export function proxyLaunches(
  plan: AddressPlan,
  controlPlaneUrl: string,
  joinTokenFile: string,
): ProxyLaunch[] {
  const common = [
    '--control-plane',
    controlPlaneUrl,
    '--namespace',
    'default',
    '--join-token-file',
    joinTokenFile,
  ];
  const gateway = (g: typeof Ingress, address: string): ProxyLaunch => ({
    id: g.id,
    name: g.workload,
    statsAddress: address,
    args: ['--role', g.role, '--id', g.id, '--workload', g.workload, '--address', address, ...common],
  });
  return [
    gateway(Egress, plan.egress),
    ...Pods.map((pod) => {
      const address = podAddress(plan, pod.id);
      return {
        id: pod.id,
        name: `${pod.id}-sidecar`,
        statsAddress: address,
        args: [
          '--role',
          'sidecar',
          '--id',
          pod.id,
          '--workload',
          pod.workload,
          '--service',
          pod.service,
          '--version',
          pod.version,
          '--address',
          address,
          '--app-address',
          address,
          '--app-port',
          String(AppPort),
          ...common,
        ],
      };
    }),
    gateway(Ingress, plan.ingress),
  ];
}

/** Every address:port the mesh will listen on, to refuse to start over a running mesh. */
export function listenAddresses(plan: AddressPlan, ha = false): string[] {
  const replicas = ha ? [plan.controlPlane, plan.controlPlaneReplica] : [plan.controlPlane];
  const out = [
    ...replicas.flatMap((address) => [
      `${address}:${ControlPlane.discoveryPort}`,
      `${address}:${ControlPlane.monitoringPort}`,
      `${address}:${ControlPlane.consolePort}`,
    ]),
    ...(ha ? plan.etcd.flatMap((address) => [`${address}:2379`, `${address}:2380`]) : []),
    `${plan.ingress}:${Ingress.port}`,
    `${plan.egress}:${Egress.port}`,
    `${plan.externalApi}:${ExternalApi.appPort}`,
  ];
  for (const pod of Pods) {
    const a = podAddress(plan, pod.id);
    out.push(
      `${a}:${AppPort}`,
      `${a}:${Ports.sidecarOutbound}`,
      `${a}:${Ports.sidecarInbound}`,
      `${a}:${Ports.stats}`,
    );
  }
  return out;
}

function inUse(hostPort: string): Promise<boolean> {
  const i = hostPort.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Every proxy as the control plane's GET /v1/proxies reports it (merged over the replicas that answer). */
export async function proxyStatuses(controlPlaneUrl: string | readonly string[]): Promise<ProxyStatus[]> {
  const urls = [controlPlaneUrl].flat();
  const answers = await Promise.allSettled(
    urls.map(async (url) => {
      const res = await fetch(`${url}${ApiPaths.proxies}`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) throw new Error(`GET ${url}${ApiPaths.proxies} answered ${res.status}`);
      return ((await res.json()) as ProxyStatusList).proxies;
    }),
  );
  const lists = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  if (lists.length === 0) throw (answers[0] as PromiseRejectedResult).reason;
  return mergeProxyStatuses(lists);
}

/** True when the proxy has ACKed the version the control plane wants it to run. */
export function isSynced(p: ProxyStatus): boolean {
  return p.status === 'SYNCED';
}

/** Resolves once every proxy in `ids` is connected and has ACKed its current config. */
export function waitForSync(
  controlPlaneUrl: string | readonly string[],
  ids: string[],
  timeoutMs: number,
): Promise<true> {
  let last: ProxyStatus[] = [];
  return waitUntil(
    async () => {
      last = await proxyStatuses(controlPlaneUrl).catch(() => last);
      const synced = new Set(last.filter(isSynced).map((p) => p.id));
      return ids.every((id) => synced.has(id)) ? true : undefined;
    },
    timeoutMs,
    () => {
      const state = ids.map((id) => `${id}: ${last.find((p) => p.id === id)?.status ?? 'not connected'}`);
      return `not every proxy ACKed its config within ${Math.round(timeoutMs / 1000)} s (${state.join(', ')})`;
    },
  );
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startMesh(options: MeshOptions = {}): Promise<Mesh> {
  const plan = options.plan ?? LocalPlan;
  const stateDir = options.stateDir ?? join(RepoRoot, '.tmp/demo');
  const logDir = options.logDir ?? join(RepoRoot, '.tmp/logs');
  const configDir = join(stateDir, 'config');
  const apiTokenFile = options.apiTokenFile ?? join(configDir, '.strait', 'api-token');
  const joinTokenFile = join(configDir, '.strait', 'join-token');
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const progress = options.progress ?? (() => {});
  const ha = options.ha === true;
  const replicaAddresses = ha ? [plan.controlPlane, plan.controlPlaneReplica] : [plan.controlPlane];
  const controlPlaneUrls = replicaAddresses.map((a) => `http://${a}:${ControlPlane.discoveryPort}`);
  const controlPlaneUrl = controlPlaneUrls[0] as string;
  const monitoringUrl = `http://${plan.controlPlane}:${ControlPlane.monitoringPort}`;
  const consoleUrl = `http://${plan.controlPlane}:${ControlPlane.consolePort}/`;
  const ingressUrl = `http://${plan.ingress}:${Ingress.port}/`;
  const processes = new Map<string, ManagedProcess>();

  const wantPrometheus = options.prometheus ?? 'auto';
  const prometheusBinary = wantPrometheus === false ? undefined : findPrometheus();
  if (wantPrometheus === true && !prometheusBinary) {
    throw new Error('prometheus is not on PATH (apt-get install prometheus)');
  }
  if (ha && !etcdInstalled()) throw new Error(`--ha runs etcd, which is not installed: ${ETCD_INSTALL_HINT}`);
  const addresses = listenAddresses(plan, ha);
  if (prometheusBinary) addresses.push(`${plan.prometheus}:${PrometheusPort}`);
  const busy: string[] = [];
  await Promise.all(
    addresses.map(async (a) => {
      if (await inUse(a)) busy.push(a);
    }),
  );
  if (busy.length > 0) {
    throw new Error(`already in use: ${busy.sort().join(', ')} (is another demo mesh running?)`);
  }

  mkdirSync(logDir, { recursive: true });
  prepareConfigDir(configDir, plan.externalApi, plan.controlPlane);

  const launch = (spec: ProcessSpec): ManagedProcess => {
    const p = new ManagedProcess({ cwd: RepoRoot, ...spec }, logDir);
    processes.set(spec.name, p);
    return p;
  };
  const node = process.execPath;

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.all([...processes.values()].map((p) => p.stop()));
      await mesh.etcd?.stop();
    })();
    return stopped;
  };

  const mesh: Mesh = {
    plan,
    stateDir,
    logDir,
    configDir,
    ingressUrl,
    controlPlaneUrl,
    controlPlaneUrls,
    monitoringUrl,
    etcd: undefined,
    consoleUrl,
    prometheusUrl: undefined,
    apiTokenFile,
    joinTokenFile,
    processes,
    process(name) {
      const p = processes.get(name);
      if (!p) throw new Error(`no process named ${name}; known: ${[...processes.keys()].join(', ')}`);
      return p;
    },
    stop,
  };

  const onAbort = () => void stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const failIfDied = (): void => {
    if (options.signal?.aborted) throw new Error('start-up was interrupted');
    for (const p of processes.values()) {
      if (!p.running)
        throw new Error(`${p.name} exited during start-up; its log ${p.logFile} ends:\n${tail(p.logFile)}`);
    }
  };

  try {
    progress(`logs in ${logDir}`);
    launch({
      name: 'external-api',
      command: node,
      args: [DemoMain, 'external-api'],
      env: { APP_ADDRESS: plan.externalApi, APP_PORT: String(ExternalApi.appPort) },
    });
    let store: string[] = [];
    if (ha) {
      // A fresh cluster each start, seeded from the config directory like the single control plane's.
      const etcdDir = join(stateDir, 'etcd');
      rmSync(etcdDir, { recursive: true, force: true });
      mkdirSync(etcdDir, { recursive: true });
      mesh.etcd = new EtcdCluster({ hosts: plan.etcd, dir: etcdDir, logDir });
      await mesh.etcd.start(readyTimeoutMs);
      store = ['--store', mesh.etcd.storeUrl];
      progress(`etcd up: ${mesh.etcd.endpoints.join(', ')}`);
    }
    replicaAddresses.forEach((address, i) => {
      const replica = i === 0 ? 'control-plane' : 'control-plane-b';
      launch({
        name: replica,
        command: node,
        args: [
          ControlPlaneMain,
          '--config-dir',
          configDir,
          ...store,
          ...(ha ? ['--replica-id', replica] : []),
          '--address',
          address,
          '--port',
          String(ControlPlane.discoveryPort),
          '--monitoring-port',
          String(ControlPlane.monitoringPort),
          '--console-port',
          String(ControlPlane.consolePort),
          '--token-file',
          apiTokenFile,
          '--join-token-file',
          joinTokenFile,
          // Prometheus starts once the mesh is up; until it answers the console reads the proxies itself.
          ...(prometheusBinary ? ['--prometheus', `http://${plan.prometheus}:${PrometheusPort}`] : []),
        ],
      });
    });
    for (const pod of Pods) {
      const address = podAddress(plan, pod.id);
      launch({
        name: `${pod.id}-app`,
        command: node,
        args: [DemoMain, pod.service],
        env: {
          APP_ADDRESS: address,
          APP_PORT: String(AppPort),
          SERVICE_VERSION: pod.version,
          POD_NAME: pod.id,
          UPSTREAM_URL: Upstreams[pod.service],
          HTTP_PROXY: `http://${address}:${Ports.sidecarOutbound}`,
        },
      });
    }
    for (const [i, url] of controlPlaneUrls.entries())
      await waitUntil(
        async () => {
          failIfDied();
          return (await httpStatus(`${url}/v1/proxies`)) === 200 ? true : undefined;
        },
        readyTimeoutMs,
        () =>
          `the control plane did not answer at ${url}/v1/proxies; its log ends:\n${tail(join(logDir, `${i === 0 ? 'control-plane' : 'control-plane-b'}.log`))}`,
      );
    progress(ha ? 'both control-plane replicas up' : 'control plane up');

    const proxies = proxyLaunches(plan, controlPlaneUrls.join(','), joinTokenFile);
    for (const proxy of proxies) {
      launch({
        name: proxy.name,
        command: node,
        args: [...ProxyRuntime.nodeArgs, ProxyMain, ...proxy.args],
        env: ProxyRuntime.env,
      });
    }
    for (const proxy of proxies) {
      await waitUntil(
        async () => {
          failIfDied();
          return (await httpStatus(`http://${proxy.statsAddress}:${Ports.ready}${ProxyAdminPaths.ready}`)) ===
            200
            ? true
            : undefined;
        },
        readyTimeoutMs,
        () =>
          `${proxy.id} is not ready; its log ${join(logDir, `${proxy.name}.log`)} ends:\n${tail(join(logDir, `${proxy.name}.log`))}`,
      );
    }
    progress('every proxy ready');
    await waitForSync(controlPlaneUrls, proxyIds(), readyTimeoutMs);
    progress('every proxy ACKed its config');
    for (const pod of Pods) {
      await waitForOk(
        `http://${podAddress(plan, pod.id)}:${AppPort}/healthz`,
        readyTimeoutMs,
        `${pod.id}'s app`,
      );
    }
    // The chain is the real proof: keep asking until the first full answer comes back.
    await waitUntil(
      async () => {
        failIfDied();
        return (await httpStatus(ingressUrl, 5000)) === 200 ? true : undefined;
      },
      readyTimeoutMs,
      () => `the chain did not answer 200 at ${ingressUrl} within ${Math.round(readyTimeoutMs / 1000)} s`,
      300,
    );
    progress(`the chain answers at ${ingressUrl}`);

    if (prometheusBinary) {
      const listen = `${plan.prometheus}:${PrometheusPort}`;
      const args = preparePrometheus(join(stateDir, 'prometheus'), listen, {
        monitoringUrl: replicaAddresses.map((a) => `http://${a}:${ControlPlane.monitoringPort}`),
        scrapeIntervalSeconds: options.scrapeIntervalSeconds ?? 5,
      });
      launch({ name: 'prometheus', command: prometheusBinary, args });
      mesh.prometheusUrl = `http://${listen}`;
      await waitUntil(
        async () => {
          failIfDied();
          return (await httpStatus(`${mesh.prometheusUrl}/-/ready`)) === 200 ? true : undefined;
        },
        readyTimeoutMs,
        () => `Prometheus did not become ready; its log ends:\n${tail(join(logDir, 'prometheus.log'))}`,
      );
      progress(`Prometheus at ${mesh.prometheusUrl}`);
    }

    if (options.trafficRate && options.trafficRate > 0) {
      launch({
        name: 'traffic',
        command: node,
        args: [DemoMain, 'traffic'],
        env: { TARGET: ingressUrl, RATE: String(options.trafficRate) },
      });
    }
    failIfDied();
    return mesh;
  } catch (err) {
    await stop();
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
