// Cross-process: strait-proxy --workers 2 as an ingress gateway (addresses 127.0.130.x): both workers serve,
// one scrape sums them, config pushes reach every worker (a bad one is NACKed by all), a killed worker comes
// back, the shared stdout never carries a broken access log line, a rate limit holds for the whole proxy,
// SIGTERM exits 0, --workers 0 exits 2.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AckMessage, type SnapshotInput, splitSnapshot, versionOfResources } from '@strait/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY_MAIN, type ProxyUnderTest, spawnNode, startProxy, waitFor } from './support/processes.ts';
import { promtoolNotes, skipWithoutPromtool } from './support/promtool.ts';
import { cluster, listener, route, snapshot } from './support/snapshots.ts';

const UPSTREAM = '127.0.130.9';
const CONTROL_PLANE = '127.0.130.20';

/** The upstream: answers 200 and remembers which proxy connection (remote port) carried each request. */
let upstream: http.Server;
let upstreamPort = 0;
const upstreamConnections = new Set<number>();

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    upstreamConnections.add(req.socket.remotePort ?? 0);
    req.resume();
    res.end('ok');
  });
  upstream.listen(0, UPSTREAM);
  await once(upstream, 'listening');
  upstreamPort = (upstream.address() as AddressInfo).port;
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

function gatewaySnapshot(version: string, routeExtra: Parameters<typeof route>[2] = {}): SnapshotInput {
  return {
    version,
    ...snapshot(
      [listener('gateway', 8080, [route('all', 'upstream', routeExtra)])],
      [cluster('upstream', [{ address: UPSTREAM, port: upstreamPort }])],
      { telemetry: { accessLog: true } },
    ),
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
}

/** One request on a connection of its own, so the kernel picks a worker for each. */
function freshGet(host: string, path = '/'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port: 8080, path, agent: false, headers: { connection: 'close' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.end();
  });
}

async function json(url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(url, init);
  return res.json();
}

interface WorkerInfo {
  index: number;
  pid: number | undefined;
  state: string;
  version: string | undefined;
  restarts: number;
}

async function workersOf(host: string): Promise<WorkerInfo[]> {
  const info = (await json(`http://${host}:15000/server_info`)) as { workers: { list: WorkerInfo[] } };
  return info.workers.list;
}

async function scrape(host: string): Promise<string> {
  return (await fetch(`http://${host}:15090/stats/prometheus`)).text();
}

/** Sum of a metric's samples whose line matches `filter`. */
function sumOf(text: string, name: string, filter: (line: string) => boolean = () => true): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (filter(line)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Watches a process's stdout and counts lines that are not whole JSON objects. */
function lineChecker(proxy: ProxyUnderTest): { broken: string[]; lines: () => string[] } {
  const broken: string[] = [];
  const complete: string[] = [];
  // The first line we see may be the tail of one read before we attached: it is kept only if it parses.
  let first = true;
  let rest = '';
  proxy.child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const wasFirst = first;
      first = false;
      if (line === '') continue;
      try {
        JSON.parse(line);
        complete.push(line);
      } catch {
        if (!wasFirst) broken.push(line.slice(0, 200));
      }
    }
  });
  return { broken, lines: () => complete };
}

describe('an ingress gateway with --workers 2 (bootstrap file)', () => {
  const HOST = '127.0.130.1';
  let proxy: ProxyUnderTest;

  beforeAll(async () => {
    proxy = await startProxy({
      role: 'ingress',
      address: HOST,
      snapshot: gatewaySnapshot('boot-1'),
      args: ['--workers', '2'],
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop('SIGKILL');
  });

  it('forks two workers that both serve the listener', async () => {
    const workers = await workersOf(HOST);
    expect(workers.map((w) => w.state)).toEqual(['serving', 'serving']);
    expect(workers.map((w) => w.version)).toEqual(['boot-1', 'boot-1']);
    expect(new Set(workers.map((w) => w.pid)).size).toBe(2);

    upstreamConnections.clear();
    // Sequential requests: a worker keeps one keep-alive connection to the upstream, so the number of
    // upstream connections is the number of workers that carried requests.
    for (let i = 0; i < 40; i++) expect((await freshGet(HOST, `/spread/${i}`)).status).toBe(200);
    expect(upstreamConnections.size).toBe(2);
  });

  it('answers one scrape with the workers summed and per-proxy gauges counted once', async () => {
    const isOk = (line: string) => line.includes('response_code="200"');
    const before = sumOf(await scrape(HOST), 'istio_requests_total', isOk);
    const K = 37;
    for (let i = 0; i < K; i++) expect((await freshGet(HOST, `/count/${i}`)).status).toBe(200);
    const text = await scrape(HOST);
    expect(sumOf(text, 'istio_requests_total', isOk) - before).toBe(K);
    expect(sumOf(text, 'istio_request_duration_milliseconds_count', isOk) - before).toBe(K);
    expect(sumOf(text, 'istio_build')).toBe(1);
    expect(sumOf(text, 'strait_cluster_healthy_endpoints', (l) => l.includes('cluster="upstream"'))).toBe(1);
    expect(sumOf(text, 'strait_cluster_endpoints', (l) => l.includes('cluster="upstream"'))).toBe(1);
    expect(sumOf(text, 'strait_config_version_info', (l) => l.includes('version="boot-1"'))).toBe(1);
    expect(sumOf(text, 'strait_config_applies_total')).toBe(1);
    // One HELP/TYPE per metric, even though three registries were merged.
    expect(text.match(/^# TYPE istio_requests_total /gm)).toHaveLength(1);
  });

  it.skipIf(skipWithoutPromtool)('promtool check metrics accepts the merged exposition', async () => {
    expect(promtoolNotes(await scrape(HOST))).toEqual([]);
  });

  it('shows each worker its own /clusters view and forwards log levels', async () => {
    const view = (await json(`http://${HOST}:15000/clusters`)) as {
      workers: { worker: number; clusters: { name: string }[] }[];
    };
    expect(view.workers.map((w) => w.worker).sort()).toEqual([0, 1]);
    for (const w of view.workers) expect(w.clusters.map((c) => c.name)).toContain('upstream');
    const res = await fetch(`http://${HOST}:15000/logging?level=warn`, { method: 'POST' });
    expect(res.status).toBe(200);
    const bad = await fetch(`http://${HOST}:15000/logging?level=loud`, { method: 'POST' });
    expect(bad.status).toBe(400);
  });

  it('never writes a broken access log line when two workers share a piped stdout under load', async () => {
    const checker = lineChecker(proxy);
    // Lines of ~2.3 KB: two of them overflow one atomic pipe write (4096 bytes), so batching matters.
    const longPath = `/log/${'x'.repeat(2000)}`;
    const total = 1200;
    let sent = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const one = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const req = http.request(
          { host: HOST, port: 8080, path: `${longPath}?n=${sent++}`, agent },
          (res) => {
            res.resume();
            res.on('end', () => resolve());
          },
        );
        req.on('error', reject);
        req.end();
      });
    // A reader that falls behind: while the pipe is full the workers queue, then both write at once.
    proxy.child.stdout?.pause();
    const lanes = Array.from({ length: 16 }, async () => {
      while (sent < total) await one();
    });
    await Promise.all(lanes);
    agent.destroy();
    proxy.child.stdout?.resume();
    const logged = () => checker.lines().filter((l) => l.includes('"/log/')).length;
    await waitFor(
      'every access log line',
      () => logged() + checker.broken.length >= total || undefined,
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${logged()} whole lines, ${checker.broken.length} broken`);
    });
    expect(checker.broken).toEqual([]);
    expect(checker.lines().filter((l) => l.includes('"/log/')).length).toBe(total);
  }, 60_000);

  it('re-forks a worker killed with SIGKILL while the other keeps serving', async () => {
    const [first] = await workersOf(HOST);
    const victim = first?.pid as number;
    process.kill(victim, 'SIGKILL');
    await waitFor('the killed worker to be gone', () => !isAlive(victim) || undefined);
    // New connections go to the surviving worker's socket.
    for (let i = 0; i < 20; i++) expect((await freshGet(HOST, `/during/${i}`)).status).toBe(200);
    const back = await waitFor(
      'a new worker in slot 0 with the current config',
      async () => {
        const w = (await workersOf(HOST))[0];
        return w && w.pid !== victim && w.state === 'serving' && w.version === 'boot-1' ? w : undefined;
      },
      30_000,
    );
    expect(back.restarts).toBe(1);
    expect((await fetch(`http://${HOST}:15021/healthz/ready`)).status).toBe(200);
    upstreamConnections.clear();
    for (let i = 0; i < 40; i++) expect((await freshGet(HOST, `/after/${i}`)).status).toBe(200);
    // Both the new worker and the old one carry traffic again (each has its own upstream connection).
    expect(upstreamConnections.size).toBe(2);
  }, 60_000);

  it('drains every worker on SIGTERM and exits 0', async () => {
    const pids = (await workersOf(HOST)).map((w) => w.pid as number);
    expect(await proxy.stop('SIGTERM')).toBe(0);
    for (const pid of pids) await waitFor(`worker ${pid} to exit`, () => !isAlive(pid) || undefined);
  }, 40_000);
});

/** A control plane stand-in: one discovery stream per proxy, snapshots pushed by the test, ACKs recorded. */
class FakeControlPlane {
  readonly streams: http.ServerResponse[] = [];
  readonly acks: AckMessage[] = [];
  readonly #server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/discovery/ack') {
        this.acks.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AckMessage);
        res.writeHead(204).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.flushHeaders();
      this.streams.push(res);
    });
  });
  port = 0;

  async start(): Promise<void> {
    this.#server.listen(0, CONTROL_PLANE);
    await once(this.#server, 'listening');
    this.port = (this.#server.address() as AddressInfo).port;
  }

  /** Sends every stream the full state for `input`; returns its version (the content hash). */
  push(input: SnapshotInput, nonce: string): string {
    const resources = splitSnapshot(input);
    const version = versionOfResources(resources);
    const message = { type: 'delta', version, nonce, full: true, resources, removed: [] };
    for (const stream of this.streams) stream.write(`${JSON.stringify(message)}\n`);
    return version;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
  }
}

describe('a local rate limit on an ingress with --workers 2', () => {
  const HOST = '127.0.130.4';
  let proxy: ProxyUnderTest;

  beforeAll(async () => {
    // 6 tokens and (for the length of the test) no refill: the proxy as a whole may admit 6 requests.
    const limit = { maxTokens: 6, tokensPerFill: 1, fillIntervalMs: 600_000 };
    proxy = await startProxy({
      role: 'ingress',
      address: HOST,
      snapshot: gatewaySnapshot('limited-1', {
        route: { clusters: [{ cluster: 'upstream', weight: 100 }], rateLimit: limit },
      }),
      args: ['--workers', '2'],
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop('SIGKILL');
  });

  it('holds the limit for the whole proxy, not per worker (as Envoy shares one bucket across its workers)', async () => {
    const statuses: number[] = [];
    // Fresh connections, so the kernel spreads them over both workers.
    for (let i = 0; i < 30; i++) statuses.push((await freshGet(HOST, `/limited/${i}`)).status);
    const admitted = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(admitted).toBeLessThanOrEqual(6);
    expect(admitted).toBeGreaterThanOrEqual(3);
  });
});

describe('config pushes to an ingress with --workers 2 (discovery)', () => {
  const HOST = '127.0.130.2';
  const cp = new FakeControlPlane();
  let proxy: ProxyUnderTest;

  const configured = (version: string) =>
    gatewaySnapshot(version, {
      route: {
        clusters: [{ cluster: 'upstream', weight: 100 }],
        responseHeaders: { set: { 'x-config': version } },
      },
    });

  /** The content-hash version of the config tagged `tag`. */
  const V = (tag: string) => versionOfResources(splitSnapshot(configured(tag)));

  /** The config versions the gateway answered with, over fresh connections (so across workers). */
  async function servedVersions(n = 24): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const answer = await freshGet(HOST, `/v/${i}`);
      expect(answer.status).toBe(200);
      seen.add(String(answer.headers['x-config']));
    }
    return seen;
  }

  beforeAll(async () => {
    await cp.start();
    proxy = await startProxy({
      role: 'ingress',
      address: HOST,
      args: ['--workers', '2', '--control-plane', `http://${CONTROL_PLANE}:${cp.port}`],
      waitReady: false,
    });
    await waitFor('the discovery stream', () => cp.streams.length > 0 || undefined, 30_000);
    cp.push(configured('v1'), 'n1');
    await waitFor(
      'ready',
      async () => (await fetch(`http://${HOST}:15021/healthz/ready`)).status === 200 || undefined,
      30_000,
    );
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop('SIGKILL');
    await cp.stop();
  });

  it('opens one discovery stream for the whole proxy and ACKs what every worker applied', async () => {
    expect(cp.streams).toHaveLength(1);
    await waitFor(
      'ACK v1',
      () => cp.acks.some((a) => a.type === 'ack' && a.version === V('v1')) || undefined,
    );
    expect(await servedVersions()).toEqual(new Set(['v1']));
    cp.push(configured('v2'), 'n2');
    await waitFor(
      'ACK v2',
      () => cp.acks.some((a) => a.type === 'ack' && a.version === V('v2')) || undefined,
    );
    expect(await servedVersions()).toEqual(new Set(['v2']));
    expect((await workersOf(HOST)).map((w) => w.version)).toEqual([V('v2'), V('v2')]);
  });

  it('NACKs a snapshot the workers refuse and keeps every worker on the last good config', async () => {
    const bad = configured('v3-bad');
    const badRoute = bad.listeners[0]?.virtualHosts[0]?.routes[0];
    if (badRoute) badRoute.match = { path: { regex: '(' } };
    cp.push(bad, 'n3');
    const nack = await waitFor('NACK n3', () => cp.acks.find((a) => a.type === 'nack' && a.nonce === 'n3'));
    expect(nack).toMatchObject({
      type: 'nack',
      keptVersion: V('v2'),
      rejected: [{ type: 'routes', name: (bad.listeners[0] as { name: string }).name }],
    });
    expect((nack as { error: string }).error).toMatch(/invalid regular expression/);
    expect(await servedVersions()).toEqual(new Set(['v2']));
    expect((await workersOf(HOST)).map((w) => w.version)).toEqual([V('v2'), V('v2')]);
    const text = await scrape(HOST);
    expect(sumOf(text, 'strait_config_nacks_total')).toBe(1);
    expect(sumOf(text, 'strait_config_version_info', (l) => l.includes(`version="${V('v2')}"`))).toBe(1);
    expect((await fetch(`http://${HOST}:15021/healthz/ready`)).status).toBe(200);
  });

  it('gives a worker that died the config pushed while it was down', async () => {
    const [victim] = (await workersOf(HOST)).map((w) => w.pid as number);
    process.kill(victim as number, 'SIGKILL');
    cp.push(configured('v4'), 'n4');
    await waitFor(
      'ACK v4',
      () => cp.acks.some((a) => a.type === 'ack' && a.version === V('v4')) || undefined,
    );
    const workers = await waitFor(
      'both workers serving v4',
      async () => {
        const now = await workersOf(HOST);
        const settled = now.every((w) => w.state === 'serving' && w.version === V('v4'));
        return settled && !now.some((w) => w.pid === victim) ? now : undefined;
      },
      30_000,
    );
    expect(workers).toHaveLength(2);
    expect(await servedVersions()).toEqual(new Set(['v4']));
  }, 40_000);

  it('drains every worker on POST /drain (the primary stays for admin), then exits 0 on SIGTERM', async () => {
    const pids = (await workersOf(HOST)).map((w) => w.pid as number);
    const drained = await fetch(`http://${HOST}:15000/drain`, { method: 'POST' });
    expect(drained.status).toBe(200);
    for (const pid of pids) await waitFor(`worker ${pid} to exit`, () => !isAlive(pid) || undefined);
    expect((await workersOf(HOST)).map((w) => w.state)).toEqual(['stopped', 'stopped']);
    expect((await fetch(`http://${HOST}:15021/healthz/ready`)).status).toBe(503);
    await expect(freshGet(HOST)).rejects.toThrow(/ECONNREFUSED/);
    expect(await proxy.stop('SIGTERM')).toBe(0);
  }, 40_000);
});

describe('--workers on the command line', () => {
  it('refuses --workers 0 with exit code 2 and says why', async () => {
    const proc = spawnNode(PROXY_MAIN, [
      '--role',
      'ingress',
      '--address',
      '127.0.130.3',
      '--bootstrap',
      '/dev/null',
      '--workers',
      '0',
    ]);
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toMatch(/--workers: expected a whole number from 1 to \d+, got "0"/);
  });
});
