// Simulated proxies for the convergence benchmark: opens N real discovery streams to the control plane
// (POST /v1/discovery, newline-delimited JSON back), ACKs every delta on POST /v1/discovery/ack like a
// proxy does, then applies config changes through the resource API and times how long until every
// simulated proxy has received and ACKed the change. With --scope, it then applies the Sidecars in that
// file, opens one more stream as a new pod of service-b and records which proxies its endpoint reaches.
// Given several control-plane replicas (--control-plane URL,URL), proxy i streams from and ACKs to replica
// i mod n, and changes go through the first: a change then reaches most proxies through another replica.
//   node bench/xds-sim.ts --control-plane http://127.0.121.1:15010 --count 1000 --changes 3 \
//        --change-a FILE --change-b FILE [--scope FILE] [--token T] [--control-plane-pid PID]
// Prints one JSON object (SimResult) on stdout; progress on stderr.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  type AckMessage,
  ApiPaths,
  type DiscoveryMessage,
  type DiscoveryRequest,
  type NodeInfo,
} from '@strait/api';
import { httpRequest, openChunkedStream } from './lib/chunked-stream.ts';
import { KeepAlivePoster } from './lib/keep-alive-poster.ts';
import { LineHeads } from './lib/line-heads.ts';
import { cpuSeconds } from './lib/procfs.ts';
import { percentileOfSorted } from './lib/stats.ts';

export interface ChangeResult {
  /** Milliseconds from sending the resource PUT to each proxy's ACK being answered, ascending. */
  ackMs: number[];
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  /** Proxies that had not ACKed a new version when the wait ended. */
  missing: number;
  putStatus: number;
  /** Milliseconds until the PUT was answered (the control plane answers after writing the file durably). */
  putMs: number;
  /** This simulator's CPU (user + system) from the PUT until the last ACK, ms. */
  simCpuMs: number;
  /** Share of that time this simulator's event loop was busy (1 = it was the bottleneck). */
  simLoopBusy: number;
  /** The control plane's CPU over the same window, ms (with --control-plane-pid; /proc has 10 ms ticks). */
  controlPlaneCpuMs?: number;
  /** Discovery-stream bytes all simulated proxies received in that window. */
  streamBytes: number;
  /** ACKs in that window answered as being for a superseded nonce. */
  staleAcks: number;
}

/** What one new endpoint of service-b cost, once Sidecars scope who may call service-b. */
export interface EndpointResult {
  /** Proxies (not counting the new one) that were sent anything after it joined. */
  reached: number;
  /** Of those, proxies of service-a: the ones whose Sidecar lets them call service-b. */
  reachedCallers: number;
  /** Proxies of service-a: the ones that should be reached. */
  callers: number;
  /** Every message they were sent carried endpoints only. */
  endpointsOnly: boolean;
  /** Bytes streamed to the proxies reached (the new proxy's own first config not counted). */
  streamBytes: number;
  /** Milliseconds from the new stream's opening to each reached proxy's ACK being answered, p99. */
  p99Ms: number;
}

export interface SimResult {
  count: number;
  connectMs: number;
  changes: ChangeResult[];
  endpoint?: EndpointResult;
  /** ACK posts the control plane answered with a status other than 2xx. */
  ackPostsRefused: number;
  /** ACK posts that got no answer (connection error). */
  ackPostsFailed: number;
  /** ACKs answered 2xx but for a nonce that was no longer current (the proxy was sent something newer). */
  ackPostsStale: number;
  error?: string;
}

const { values } = parseArgs({
  options: {
    'control-plane': { type: 'string' },
    count: { type: 'string', default: '100' },
    changes: { type: 'string', default: '3' },
    'change-a': { type: 'string' },
    'change-b': { type: 'string' },
    'content-type': { type: 'string', default: 'application/yaml' },
    token: { type: 'string' },
    'timeout-ms': { type: 'string', default: '30000' },
    'pod-base': { type: 'string', default: '127.0.121' },
    'control-plane-pid': { type: 'string' },
    scope: { type: 'string' },
  },
});

const replicas = (values['control-plane'] ?? 'http://127.0.121.1:15010').split(',').map((u) => new URL(u));
/** Where changes are applied: the first replica. */
const base = replicas[0] as URL;
const count = Number(values.count);
const changeCount = Number(values.changes);
const timeoutMs = Number(values['timeout-ms']);
const controlPlanePid = values['control-plane-pid'] ? Number(values['control-plane-pid']) : undefined;
const changeBodies = [values['change-a'], values['change-b']].map((file) => {
  if (!file) {
    process.stderr.write('xds-sim: --change-a and --change-b are required\n');
    process.exit(2);
  }
  return readFileSync(file);
});
const scopeBody = values.scope ? readFileSync(values.scope) : undefined;
const authHeaders: Record<string, string> = values.token ? { authorization: `Bearer ${values.token}` } : {};
const apiAgent = new Agent({ keepAlive: true, maxSockets: 4 });
/**
 * ACK posts share 64 keep-alive connections, split over the replicas (a real proxy has its own; one process
 * cannot afford 1000).
 */
const ackPosters = replicas.map(
  (r) => new KeepAlivePoster(r.hostname, Number(r.port || 80), Math.ceil(64 / replicas.length), authHeaders),
);

interface SimProxy {
  node: NodeInfo;
  /** The replica it streams from and ACKs to. */
  replica: number;
  stream: Socket | undefined;
  /** The last version this proxy ACKed, and when the ACK was answered (performance.now()). */
  ackedVersion: string | undefined;
  ackedAt: number;
  connected: boolean;
  /** Deltas received, bytes received, and the resource types seen while `watchTypes` is on. */
  messages: number;
  bytes: number;
  types: Set<string>;
}

/** While true, each delta is read whole and its resource types are recorded (small messages only). */
let watchTypes = false;

const ackPosts = { refused: 0, failed: 0, stale: 0 };
let streamBytes = 0;
let lastMessageAt = performance.now();
const progress = (text: string): boolean => process.stderr.write(`xds-sim: ${text}\n`);

/** Simulated pods: services A and B (v1, v2) in the ratio of the demo, each with its own address. */
function nodeFor(i: number): NodeInfo {
  const kind = i % 4;
  const service = kind < 2 ? 'service-a' : 'service-b';
  const version = kind === 3 ? 'v2' : 'v1';
  const address = `${values['pod-base']}.${10 + (i % 240)}`;
  return {
    id: `sim-${service}-${version}-${i}`,
    role: 'sidecar',
    workload: `${service}-${version}`,
    namespace: 'default',
    service,
    version,
    address,
    appAddress: address,
    appPort: 8080,
    ports: { inbound: 15006, outbound: 15001, admin: 15000, stats: 15090 },
    statsAddress: `${address}:${15090 + Math.floor(i / 240)}`,
  };
}

async function acknowledge(proxy: SimProxy, message: DeltaHead): Promise<void> {
  const ack: AckMessage = {
    nodeId: proxy.node.id,
    type: 'ack',
    version: message.version,
    nonce: message.nonce,
  };
  const poster = ackPosters[proxy.replica] as KeepAlivePoster;
  const { status, text } = await poster.post(ApiPaths.ack, JSON.stringify(ack));
  if (status === 0) ackPosts.failed += 1;
  else if (status < 200 || status >= 300) ackPosts.refused += 1;
  else if (/"current"\s*:\s*false/.test(text)) ackPosts.stale += 1;
  else {
    proxy.ackedVersion = message.version;
    proxy.ackedAt = performance.now();
  }
}

type DeltaHead = Pick<Extract<DiscoveryMessage, { type: 'delta' }>, 'type' | 'version' | 'nonce'> & {
  /** The resource types it carried, when the whole line was read. */
  types?: string[];
};

type StreamMessage = DeltaHead | { type: 'heartbeat' };

/** Bytes of each line decoded to find its type, version and nonce. */
const HEAD_BYTES = 400;

/**
 * Reads the message's type, version and nonce from the head of its line. One process plays every proxy
 * here, so parsing every delta (which real proxies do on their own CPUs) would make this simulator the
 * bottleneck: when the head already carries the version and nonce ahead of the resources, the rest of
 * the line is skipped unread.
 */
const messageDecoder = {
  fromHead(head: Buffer): StreamMessage | undefined {
    const text = head.toString('latin1');
    if (text.includes('"type":"heartbeat"')) return { type: 'heartbeat' };
    if (watchTypes) return undefined;
    const version = /"version":"([^"]*)"/.exec(text);
    const nonce = /"nonce":"([^"]*)"/.exec(text);
    const beforeResources = text.indexOf('"resources":');
    if (
      text.includes('"type":"delta"') &&
      version &&
      nonce &&
      beforeResources > version.index &&
      beforeResources > nonce.index
    )
      return { type: 'delta', version: version[1] as string, nonce: nonce[1] as string };
    return undefined;
  },
  fromLine(line: Buffer): StreamMessage {
    const message = JSON.parse(line.toString('utf8')) as DiscoveryMessage;
    return message.type === 'delta'
      ? {
          type: 'delta',
          version: message.version,
          nonce: message.nonce,
          types: [...message.resources.map((r) => r.type), ...message.removed.map((r) => `-${r.type}`)],
        }
      : { type: 'heartbeat' };
  },
};

function openStream(proxy: SimProxy): Promise<void> {
  const body: DiscoveryRequest = { node: proxy.node };
  const replica = replicas[proxy.replica] as URL;
  const request = httpRequest(
    'POST',
    ApiPaths.discovery,
    replica.host,
    { 'content-type': 'application/json', ...authHeaders },
    JSON.stringify(body),
  );
  const lines = new LineHeads<StreamMessage>(HEAD_BYTES, messageDecoder, (message) => {
    if (message.type !== 'delta') return;
    lastMessageAt = performance.now();
    proxy.messages += 1;
    for (const type of message.types ?? []) proxy.types.add(type);
    void acknowledge(proxy, message);
  });
  const opened = openChunkedStream({
    host: replica.hostname,
    port: Number(replica.port || 80),
    request,
    onBody: (bytes) => {
      streamBytes += bytes.length;
      proxy.bytes += bytes.length;
      lines.push(bytes);
    },
    onClose: () => {
      proxy.connected = false;
    },
  }).then((socket) => {
    proxy.stream = socket;
    proxy.connected = true;
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`no answer for ${proxy.node.id} within ${timeoutMs} ms`)),
      timeoutMs,
    ).unref(),
  );
  return Promise.race([
    opened.catch((err: Error) => {
      throw new Error(`discovery stream for ${proxy.node.id}: ${err.message}`);
    }),
    timeout,
  ]);
}

function putResource(body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      new URL('/v1/resources', base),
      {
        method: 'PUT',
        agent: apiAgent,
        headers: { 'content-type': values['content-type'], 'content-length': body.length, ...authHeaders },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 300)
            progress(`PUT /v1/resources answered ${res.statusCode}: ${text.slice(0, 500)}`);
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', (err) => {
      progress(`PUT /v1/resources failed: ${err.message}`);
      resolve(0);
    });
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until no snapshot has arrived for `quietMs` and every proxy has ACKed something. */
async function settle(proxies: SimProxy[], quietMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const allAcked = proxies.every((p) => p.ackedVersion !== undefined);
    if (allAcked && performance.now() - lastMessageAt >= quietMs) return;
    await sleep(50);
  }
  const acked = proxies.filter((p) => p.ackedVersion !== undefined).length;
  throw new Error(
    `the control plane did not settle within ${timeoutMs} ms (${acked}/${proxies.length} proxies had ACKed a snapshot; ` +
      `last push ${(performance.now() - lastMessageAt).toFixed(0)} ms ago)`,
  );
}

function simProxy(i: number): SimProxy {
  return {
    node: nodeFor(i),
    replica: i % replicas.length,
    stream: undefined,
    ackedVersion: undefined,
    ackedAt: 0,
    connected: false,
    messages: 0,
    bytes: 0,
    types: new Set(),
  };
}

const proxies: SimProxy[] = Array.from({ length: count }, (_, i) => simProxy(i));

/**
 * Applies the scoping Sidecars, then opens one more stream as a new pod of service-b and waits until the
 * pushes its endpoint causes have settled: who was sent something, what, and how fast they ACKed it.
 */
async function newEndpoint(scope: Buffer): Promise<EndpointResult> {
  const before = proxies.map((p) => p.ackedVersion);
  const putStatus = await putResource(scope);
  if (putStatus < 200 || putStatus >= 300) throw new Error(`PUT of the Sidecars answered ${putStatus}`);
  // Scoping changes what service-b's pods hold: wait for that push before the endpoint joins.
  const scoped = proxies.filter((p) => p.node.service === 'service-b');
  const deadline = performance.now() + timeoutMs;
  while (scoped.some((p) => p.ackedVersion === before[proxies.indexOf(p)]) && performance.now() < deadline)
    await sleep(20);
  await settle(proxies, 500);
  for (const p of proxies) {
    p.messages = 0;
    p.bytes = 0;
    p.types.clear();
  }
  watchTypes = true;
  const joined = simProxy(count + 3);
  joined.node = { ...joined.node, id: `sim-service-b-v2-joined`, address: `${values['pod-base']}.251` };
  const openedAt = performance.now();
  await openStream(joined);
  await settle([...proxies, joined], 500);
  watchTypes = false;
  const reached = proxies.filter((p) => p.messages > 0);
  const ackMs = reached.map((p) => p.ackedAt - openedAt).sort((a, b) => a - b);
  const result: EndpointResult = {
    reached: reached.length,
    reachedCallers: reached.filter((p) => p.node.service === 'service-a').length,
    callers: proxies.filter((p) => p.node.service === 'service-a').length,
    endpointsOnly: reached.every((p) => [...p.types].every((t) => t === 'endpoints')),
    streamBytes: reached.reduce((n, p) => n + p.bytes, 0),
    p99Ms: percentileOfSorted(ackMs, 99),
  };
  progress(
    `new endpoint: reached ${result.reached} proxies (${result.reachedCallers} of the ${result.callers} that call service-b), ` +
      `${result.endpointsOnly ? 'endpoints only' : 'not endpoints only'}, ${(result.streamBytes / 1024).toFixed(1)} KiB, p99 ${result.p99Ms.toFixed(0)} ms`,
  );
  return result;
}

async function main(): Promise<SimResult> {
  const connectStart = performance.now();
  // Connect in batches so the listen backlog never overflows (a dropped SYN costs a 1 s retransmit);
  // a batch is done when its streams are open, then all proxies wait for their snapshots together.
  for (let i = 0; i < proxies.length; i += 100) {
    await Promise.all(proxies.slice(i, i + 100).map((p) => openStream(p)));
  }
  await settle(proxies, 1000);
  const connectMs = performance.now() - connectStart;
  progress(`${count} streams open and ACKed in ${connectMs.toFixed(0)} ms`);

  const changes: ChangeResult[] = [];
  for (let c = 0; c < changeCount; c++) {
    const before = proxies.map((p) => p.ackedVersion);
    const cpuBefore = process.cpuUsage();
    const loopBefore: EventLoopUtilization = performance.eventLoopUtilization();
    const controlPlaneCpuBefore = controlPlanePid === undefined ? 0 : cpuSeconds(controlPlanePid);
    const bytesBefore = streamBytes;
    const staleBefore = ackPosts.stale;
    const sentAt = performance.now();
    const putStatus = await putResource(changeBodies[c % 2] as Buffer);
    const putMs = performance.now() - sentAt;
    if (putStatus < 200 || putStatus >= 300) {
      const nan = Number.NaN;
      changes.push({
        ackMs: [],
        medianMs: nan,
        p99Ms: nan,
        maxMs: nan,
        missing: proxies.length,
        putStatus,
        putMs,
        simCpuMs: nan,
        simLoopBusy: nan,
        streamBytes: 0,
        staleAcks: 0,
      });
      break;
    }
    const deadline = sentAt + timeoutMs;
    const changed = () => proxies.filter((p, i) => p.ackedVersion !== before[i]).length;
    // Each ACK's time is recorded as it is answered; this poll only decides when to stop waiting.
    while (performance.now() < deadline && changed() < proxies.length) await sleep(20);
    const cpu = process.cpuUsage(cpuBefore);
    const loop = performance.eventLoopUtilization(loopBefore);
    const controlPlaneCpuMs =
      controlPlanePid === undefined
        ? undefined
        : (cpuSeconds(controlPlanePid) - controlPlaneCpuBefore) * 1000;
    const ackMs = proxies
      .filter((p, i) => p.ackedVersion !== before[i])
      .map((p) => p.ackedAt - sentAt)
      .sort((a, b) => a - b);
    const missing = proxies.length - ackMs.length;
    changes.push({
      ackMs: ackMs.map((v) => Math.round(v * 10) / 10),
      medianMs: percentileOfSorted(ackMs, 50),
      p99Ms: percentileOfSorted(ackMs, 99),
      maxMs: ackMs.at(-1) ?? Number.NaN,
      missing,
      putStatus,
      putMs,
      simCpuMs: (cpu.user + cpu.system) / 1000,
      simLoopBusy: loop.utilization,
      ...(controlPlaneCpuMs === undefined ? {} : { controlPlaneCpuMs }),
      streamBytes: streamBytes - bytesBefore,
      staleAcks: ackPosts.stale - staleBefore,
    });
    progress(
      `change ${c + 1}: PUT ${putStatus} in ${putMs.toFixed(0)} ms, ${ackMs.length}/${count} ACKed, median ${percentileOfSorted(ackMs, 50).toFixed(0)} ms, ` +
        `p99 ${percentileOfSorted(ackMs, 99).toFixed(0)} ms, max ${(ackMs.at(-1) ?? Number.NaN).toFixed(0)} ms; ` +
        `simulator CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (event loop ${(100 * loop.utilization).toFixed(0)}% busy)` +
        `${controlPlaneCpuMs === undefined ? '' : `, control plane CPU ${controlPlaneCpuMs.toFixed(0)} ms`}; ` +
        `${((streamBytes - bytesBefore) / 2 ** 20).toFixed(1)} MiB streamed`,
    );
    await settle(proxies, 500);
  }
  const endpoint = scopeBody ? await newEndpoint(scopeBody) : undefined;
  return {
    count,
    connectMs,
    changes,
    ...(endpoint ? { endpoint } : {}),
    ackPostsRefused: ackPosts.refused,
    ackPostsFailed: ackPosts.failed,
    ackPostsStale: ackPosts.stale,
  };
}

let result: SimResult;
try {
  result = await main();
} catch (err) {
  const open = proxies.filter((p) => p.connected).length;
  const acked = proxies.filter((p) => p.ackedVersion !== undefined).length;
  const error = `${(err as Error).message} (${open}/${count} streams answered, ${acked}/${count} proxies had ACKed a snapshot)`;
  result = {
    count,
    connectMs: Number.NaN,
    changes: [],
    ackPostsRefused: ackPosts.refused,
    ackPostsFailed: ackPosts.failed,
    ackPostsStale: ackPosts.stale,
    error,
  };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
