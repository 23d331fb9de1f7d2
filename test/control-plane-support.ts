// Shared by the control-plane cross-process tests: a real control plane (or replicas sharing an etcd store)
// and real proxies on loopback (127.0.104.0/24 unless a test picks its own block), small apps behind the
// sidecars, and helpers to poll status and send traffic.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mergeProxyStatuses, type ProxyStatus, type ProxyStatusList } from '../packages/api/src/index.ts';

export const REPO = new URL('../', import.meta.url).pathname;
const CONTROL_PLANE_MAIN = join(REPO, 'packages/control-plane/src/main.ts');
const PROXY_MAIN = join(REPO, 'packages/proxy/src/main.ts');
const CLI_MAIN = join(REPO, 'packages/cli/src/main.ts');
const MESH_CONFIG = join(REPO, 'packages/control-plane/src/testdata/mesh');

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export function spawnNode(name: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    child,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export interface Answer {
  status: number;
  text: string;
}

/** A plain GET (agent: false, so no connection is reused across restarts). */
export function get(url: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** GET through an HTTP proxy in absolute form, as apps do with HTTP_PROXY. */
export function viaProxy(
  proxy: { host: string; port: number },
  url: string,
  agent?: http.Agent,
): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: proxy.host,
        port: proxy.port,
        method: 'GET',
        path: url,
        headers: { host: target.host },
        agent: agent ?? false,
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** A tiny app: `/healthz` answers 200; everything else runs `handler`. */
export async function startApp(
  host: string,
  port: number,
  handler: (req: http.IncomingMessage) => Promise<Answer> | Answer,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.end('ok');
      return;
    }
    Promise.resolve(handler(req)).then(
      (a) => {
        res.writeHead(a.status, { 'content-type': 'text/plain' });
        res.end(a.text);
      },
      (err: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`app error: ${String(err)}`);
      },
    );
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Addresses of one test mesh: `base` is the first three octets plus the start of its block, e.g. 127.0.104 + 0. */
export interface MeshLayout {
  controlPlane: string;
  /** Every control-plane replica's address (the first is `controlPlane`). */
  controlPlanes: string[];
  ingress: string;
  serviceA: string;
  serviceB1: string;
  serviceB2: string;
  egress: string;
  external: string;
}

export function layout(offset: number, block = '127.0.104'): MeshLayout {
  const at = (n: number) => `${block}.${offset + n}`;
  return {
    controlPlane: at(1),
    controlPlanes: [at(1), at(61)],
    ingress: at(2),
    serviceA: at(11),
    serviceB1: at(21),
    serviceB2: at(31),
    egress: at(41),
    external: at(51),
  };
}

/** The files where a control plane started with `--config-dir DIR` keeps its API and join tokens. */
export function tokenFiles(configDir: string): { api: string; join: string } {
  return { api: join(configDir, '.strait', 'api-token'), join: join(configDir, '.strait', 'join-token') };
}

/** `Authorization` for the control plane's resource API, with the token it wrote in its config dir. */
export async function apiAuth(configDir: string): Promise<Record<string, string>> {
  return { authorization: `Bearer ${(await readFile(tokenFiles(configDir).api, 'utf8')).trim()}` };
}

export interface Mesh {
  layout: MeshLayout;
  configDir: string;
  /** The first replica's API (the only one without a shared store). */
  server: string;
  /** Every replica's API, in order. */
  servers: string[];
  monitoring: string;
  /** The first replica's process. */
  controlPlane: Proc;
  /** Every replica's process, by index. */
  controlPlanes: Proc[];
  proxies: Proc[];
  apps: http.Server[];
  /** Starts replica `i` (default the first) and waits until it is ready. */
  startControlPlane: (i?: number) => Promise<Proc>;
  /** Starts one more sidecar (its app is the caller's), pointed at every replica. */
  startSidecar: (id: string, service: string, version: string, address: string) => Proc;
  /** Every proxy's status, from every replica that answers (a proxy's row from the replica it is on). */
  statuses: () => Promise<ProxyStatus[]>;
  straitctl: (...args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
  /** A request through the front door: ingress -> service-a -> service-b. */
  front: (path?: string) => Promise<Answer>;
  stop: () => Promise<void>;
  dump: () => string;
}

export const PROXY_IDS = [
  'istio-egressgateway-1',
  'istio-ingressgateway-1',
  'service-a-v1-1',
  'service-b-v1-1',
  'service-b-v2-1',
];

export interface MeshOptions {
  graceMs?: number;
  /** The first three octets of the addresses (default 127.0.104). */
  block?: string;
  /** `etcd://...`: the replicas share it (the test mesh config seeds it). */
  store?: string;
  /** How many control-plane replicas (default 1; 2 at most). */
  replicas?: number;
  /** The lifetime of the mesh certificates the control plane issues (default its own, 24 h). */
  certTtlMs?: number;
  /** Runs the ingress gateway with `--workers N` (default 1). */
  ingressWorkers?: number;
  /** More config files (name -> YAML) written into the config directory before the control plane starts. */
  files?: Record<string, string>;
}

/**
 * Starts the apps, the control plane (or its replicas) with the test mesh config and the five proxies; waits
 * until all are SYNCED.
 */
export async function startMesh(offset: number, options: MeshOptions = {}): Promise<Mesh> {
  const l = layout(offset, options.block);
  const replicaAddresses = l.controlPlanes.slice(0, options.replicas ?? 1);
  const servers = replicaAddresses.map((a) => `http://${a}:15010`);
  const configDir = await mkdtemp(join(tmpdir(), 'strait-cp-e2e-'));
  await cp(MESH_CONFIG, configDir, { recursive: true });
  const egressFile = join(configDir, 'egress.yaml');
  await writeFile(egressFile, (await readFile(egressFile, 'utf8')).replace('127.0.5.1', l.external));
  for (const [name, yaml] of Object.entries(options.files ?? {}))
    await writeFile(join(configDir, name), yaml);
  const server = servers[0] as string;
  const apps: http.Server[] = [];
  const proxies: Proc[] = [];
  const sidecarOut = { host: l.serviceA, port: 15001 };
  const aAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  apps.push(await startApp(l.external, 8080, () => ({ status: 200, text: 'partner' })));
  apps.push(await startApp(l.serviceB1, 8080, () => ({ status: 200, text: 'b-v1' })));
  apps.push(await startApp(l.serviceB2, 8080, () => ({ status: 200, text: 'b-v2' })));
  apps.push(
    await startApp(l.serviceA, 8080, async (req) => {
      if (req.url === '/partner') return viaProxy(sidecarOut, 'http://api.partner.example/', aAgent);
      const b = await viaProxy(sidecarOut, 'http://service-b/', aAgent);
      return { status: b.status, text: `a>${b.text}` };
    }),
  );

  const mesh: Mesh = {
    layout: l,
    configDir,
    server,
    servers,
    monitoring: `http://${l.controlPlane}:15014`,
    controlPlane: undefined as unknown as Proc,
    controlPlanes: [],
    proxies,
    apps,
    startControlPlane: async (i = 0) => {
      const replica = `replica-${String.fromCharCode(97 + i)}`;
      const shared = options.store ? ['--store', options.store, '--replica-id', replica, '--no-console'] : [];
      const proc = spawnNode(options.store ? replica : 'control-plane', CONTROL_PLANE_MAIN, [
        '--config-dir',
        configDir,
        ...shared,
        '--address',
        replicaAddresses[i] as string,
        '--grace-ms',
        String(options.graceMs ?? 10_000),
        ...(options.certTtlMs ? ['--cert-ttl-ms', String(options.certTtlMs)] : []),
      ]);
      mesh.controlPlanes[i] = proc;
      if (i === 0) mesh.controlPlane = proc;
      await waitFor(
        `the control plane ${replica}`,
        async () => (await get(`${servers[i]}/ready`)).status === 200,
        15_000,
      );
      return proc;
    },
    startSidecar: (id, service, version, address) => {
      const proc = sidecar(id, service, version, address);
      proxies.push(proc);
      return proc;
    },
    statuses: async () => {
      const lists = await Promise.all(
        servers.map(async (s) => {
          try {
            return (JSON.parse((await get(`${s}/v1/proxies`)).text) as ProxyStatusList).proxies;
          } catch (err) {
            if (servers.length === 1) throw err;
            return undefined;
          }
        }),
      );
      if (lists.every((list) => list === undefined)) throw new Error('no control-plane replica answered');
      return mergeProxyStatuses(lists.map((list) => list ?? []));
    },
    straitctl: async (...args: string[]) => {
      const run = promisify(execFile);
      try {
        const { stdout, stderr } = await run(process.execPath, [CLI_MAIN, ...args], {
          env: {
            ...process.env,
            STRAIT_SERVER: servers.join(','),
            STRAIT_TOKEN_FILE: tokenFiles(configDir).api,
          },
        });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
    front: (path = '/') => get(`http://${l.ingress}:8080${path}`),
    stop: async () => {
      await Promise.all(proxies.map((p) => p.stop()));
      await Promise.all(mesh.controlPlanes.map((p) => p?.stop()));
      aAgent.destroy();
      await Promise.all(apps.map(closeServer));
      await rm(configDir, { recursive: true, force: true });
    },
    dump: () =>
      [...mesh.controlPlanes, ...proxies]
        .filter(Boolean)
        .map((p) => `--- ${p.name}\n${p.output().slice(-3000)}`)
        .join('\n'),
  };
  for (let i = 0; i < servers.length; i++) await mesh.startControlPlane(i);

  const common = [
    '--control-plane',
    servers.join(','),
    '--join-token-file',
    tokenFiles(configDir).join,
    '--no-access-log',
    '--log-level',
    'warn',
  ];
  function sidecar(id: string, service: string, version: string, address: string): Proc {
    return spawnNode(id, PROXY_MAIN, [
      '--role',
      'sidecar',
      '--id',
      id,
      '--workload',
      `${service}-${version}`,
      '--service',
      service,
      '--version',
      version,
      '--address',
      address,
      '--app-port',
      '8080',
      ...common,
    ]);
  }
  proxies.push(
    spawnNode('istio-ingressgateway-1', PROXY_MAIN, [
      '--role',
      'ingress',
      '--id',
      'istio-ingressgateway-1',
      '--workload',
      'istio-ingressgateway',
      '--address',
      l.ingress,
      ...(options.ingressWorkers ? ['--workers', String(options.ingressWorkers)] : []),
      ...common,
    ]),
    spawnNode('istio-egressgateway-1', PROXY_MAIN, [
      '--role',
      'egress',
      '--id',
      'istio-egressgateway-1',
      '--workload',
      'istio-egressgateway',
      '--address',
      l.egress,
      ...common,
    ]),
    sidecar('service-a-v1-1', 'service-a', 'v1', l.serviceA),
    sidecar('service-b-v1-1', 'service-b', 'v1', l.serviceB1),
    sidecar('service-b-v2-1', 'service-b', 'v2', l.serviceB2),
  );
  try {
    await waitUntilSynced(mesh, 30_000);
  } catch (err) {
    const text = mesh.dump();
    await mesh.stop();
    throw new Error(`${(err as Error).message}\n${text}`);
  }
  return mesh;
}

/** Waits until all five proxies are connected and have ACKed what the control plane wants them to run. */
export async function waitUntilSynced(mesh: Mesh, timeoutMs = 15_000, everyMs = 20): Promise<ProxyStatus[]> {
  return waitFor(
    'every proxy to be SYNCED',
    async () => {
      const rows = await mesh.statuses();
      const ok = PROXY_IDS.every((id) =>
        rows.some((r) => r.id === id && r.connected && r.status === 'SYNCED'),
      );
      return ok ? rows : undefined;
    },
    timeoutMs,
    everyMs,
  );
}

/** The split of service-b between v1 and v2, as YAML. */
export function splitYaml(v1: number, v2: number): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: service-b }
spec:
  hosts: [service-b]
  http:
    - name: split
      route:
        - destination: { host: service-b, subset: v1 }
          weight: ${v1}
        - destination: { host: service-b, subset: v2 }
          weight: ${v2}
`;
}

/** Sends `n` requests through the front door and counts the answers by body. */
export async function sample(mesh: Mesh, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const answer = await mesh.front();
    const key = answer.status === 200 ? answer.text : `${answer.status} ${answer.text.slice(0, 80)}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
