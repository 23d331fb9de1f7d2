// Simulated proxies for the convergence benchmark: opens N real discovery streams to the control plane
// (POST /v1/discovery, newline-delimited JSON back), ACKs every snapshot on POST /v1/discovery/ack like a
// proxy does, then applies config changes through the resource API and times how long until every
// simulated proxy has received and ACKed the new snapshot.
//   node bench/xds-sim.ts --control-plane http://127.0.121.1:15010 --count 1000 --changes 3 \
//        --change-a FILE --change-b FILE [--token T]
// Prints one JSON object (SimResult) on stdout; progress on stderr.
import { readFileSync } from 'node:fs';
import { Agent, type ClientRequest, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  ACK_PATH,
  type AckMessage,
  DISCOVERY_PATH,
  type DiscoveryMessage,
  type DiscoveryRequest,
  type NodeInfo,
} from '@strait/api';
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
}

export interface SimResult {
  count: number;
  connectMs: number;
  changes: ChangeResult[];
  /** ACK posts the control plane did not answer with 2xx (or that failed). */
  nacks: number;
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
  },
});

const base = new URL(values['control-plane'] ?? 'http://127.0.121.1:15010');
const count = Number(values.count);
const changeCount = Number(values.changes);
const timeoutMs = Number(values['timeout-ms']);
const changeBodies = [values['change-a'], values['change-b']].map((file) => {
  if (!file) {
    process.stderr.write('xds-sim: --change-a and --change-b are required\n');
    process.exit(2);
  }
  return readFileSync(file);
});
const authHeaders: Record<string, string> = values.token ? { authorization: `Bearer ${values.token}` } : {};
const ackAgent = new Agent({ keepAlive: true, maxSockets: 64 });

interface SimProxy {
  node: NodeInfo;
  stream: ClientRequest | undefined;
  /** The last version this proxy ACKed, and when the ACK was answered (performance.now()). */
  ackedVersion: string | undefined;
  ackedAt: number;
  connected: boolean;
}

let nacks = 0;
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

function postJson(path: string, body: unknown): Promise<number> {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const req = request(
      new URL(path, base),
      {
        method: 'POST',
        agent: ackAgent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...authHeaders,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(payload);
  });
}

async function acknowledge(proxy: SimProxy, message: SnapshotHead): Promise<void> {
  const ack: AckMessage = {
    nodeId: proxy.node.id,
    type: 'ack',
    version: message.version,
    nonce: message.nonce,
  };
  const status = await postJson(ACK_PATH, ack);
  if (status >= 200 && status < 300) {
    proxy.ackedVersion = message.version;
    proxy.ackedAt = performance.now();
  } else {
    nacks += 1;
  }
}

type SnapshotHead = Pick<Extract<DiscoveryMessage, { type: 'snapshot' }>, 'type' | 'version' | 'nonce'>;

/**
 * The message's type, version and nonce. One process plays every proxy here, so parsing each full
 * snapshot (which real proxies do on their own CPUs) would make this simulator the bottleneck: when
 * the head of the line already carries the version and nonce, the snapshot itself is skipped.
 */
function readMessage(
  head: string,
  wholeLine: () => string,
): SnapshotHead | { type: 'heartbeat' } | undefined {
  if (head.includes('"type":"heartbeat"')) return { type: 'heartbeat' };
  const version = /"version":"([^"]*)"/.exec(head);
  const nonce = /"nonce":"([^"]*)"/.exec(head);
  const beforeSnapshot = head.indexOf('"snapshot":');
  if (
    head.includes('"type":"snapshot"') &&
    version &&
    nonce &&
    beforeSnapshot > (version.index ?? 0) &&
    beforeSnapshot > (nonce.index ?? 0)
  ) {
    return { type: 'snapshot', version: version[1] as string, nonce: nonce[1] as string };
  }
  const message = JSON.parse(wholeLine()) as DiscoveryMessage;
  return message.type === 'snapshot'
    ? { type: 'snapshot', version: message.version, nonce: message.nonce }
    : { type: 'heartbeat' };
}

function openStream(proxy: SimProxy): Promise<void> {
  return new Promise((resolve, reject) => {
    const body: DiscoveryRequest = { node: proxy.node };
    const payload = JSON.stringify(body);
    const req = request(
      new URL(DISCOVERY_PATH, base),
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...authHeaders,
        },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`discovery stream for ${proxy.node.id} answered ${res.statusCode}`));
          return;
        }
        proxy.connected = true;
        resolve();
        // The current line's bytes as they arrived; only its head is decoded unless the fast path fails.
        let parts: Buffer[] = [];
        const finishLine = (): void => {
          const line = Buffer.concat(parts);
          parts = [];
          if (line.length === 0) return;
          const message = readMessage(line.subarray(0, 400).toString('utf8'), () => line.toString('utf8'));
          if (message?.type === 'snapshot') {
            lastMessageAt = performance.now();
            void acknowledge(proxy, message);
          }
        };
        res.on('data', (chunk: Buffer) => {
          let from = 0;
          for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, from)) {
            parts.push(chunk.subarray(from, newline));
            finishLine();
            from = newline + 1;
          }
          if (from < chunk.length) parts.push(chunk.subarray(from));
        });
        res.on('close', () => {
          proxy.connected = false;
        });
      },
    );
    req.on('error', (err) => {
      proxy.connected = false;
      reject(err);
    });
    req.end(payload);
    proxy.stream = req;
    setTimeout(
      () => reject(new Error(`no answer for ${proxy.node.id} within ${timeoutMs} ms`)),
      timeoutMs,
    ).unref();
  });
}

function putResource(body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      new URL('/v1/resources', base),
      {
        method: 'PUT',
        agent: ackAgent,
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

const proxies: SimProxy[] = Array.from({ length: count }, (_, i) => ({
  node: nodeFor(i),
  stream: undefined,
  ackedVersion: undefined,
  ackedAt: 0,
  connected: false,
}));

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
    const sentAt = performance.now();
    const putStatus = await putResource(changeBodies[c % 2] as Buffer);
    if (putStatus < 200 || putStatus >= 300) {
      const nan = Number.NaN;
      changes.push({ ackMs: [], medianMs: nan, p99Ms: nan, maxMs: nan, missing: proxies.length, putStatus });
      break;
    }
    const deadline = sentAt + timeoutMs;
    const changed = () => proxies.filter((p, i) => p.ackedVersion !== before[i]).length;
    while (performance.now() < deadline && changed() < proxies.length) await sleep(5);
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
    });
    progress(
      `change ${c + 1}: PUT ${putStatus}, ${ackMs.length}/${count} ACKed, median ${percentileOfSorted(ackMs, 50).toFixed(0)} ms, ` +
        `p99 ${percentileOfSorted(ackMs, 99).toFixed(0)} ms`,
    );
    await settle(proxies, 500);
  }
  return { count, connectMs, changes, nacks };
}

let result: SimResult;
try {
  result = await main();
} catch (err) {
  const open = proxies.filter((p) => p.connected).length;
  const acked = proxies.filter((p) => p.ackedVersion !== undefined).length;
  const error = `${(err as Error).message} (${open}/${count} streams answered, ${acked}/${count} proxies had ACKed a snapshot)`;
  result = { count, connectMs: Number.NaN, changes: [], nacks, error };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
