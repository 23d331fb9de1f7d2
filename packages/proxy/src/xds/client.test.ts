// Tests the discovery client against a small fake control plane (node:http on 127.0.103.1).
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  AckMessage,
  DiscoveryMessage,
  DiscoveryRequest,
  NodeInfo,
  Snapshot,
  SnapshotInput,
} from '@strait/api';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { nextBackoffMs } from './backoff.ts';
import { DiscoveryClient, type DiscoveryClientOptions, type DiscoveryStatus } from './client.ts';
import { LineSplitter } from './lines.ts';

const HOST = '127.0.103.1';
const node: NodeInfo = {
  id: 'service-b-v1-1',
  role: 'sidecar',
  workload: 'service-b-v1',
  namespace: 'default',
};

function snapshotInput(version: string, clusterName = 'outbound|80||service-b'): SnapshotInput {
  return {
    version,
    listeners: [],
    clusters: [{ name: clusterName, endpoints: [{ address: '127.0.103.9', port: 15006 }] }],
  };
}

interface OpenStream {
  request: DiscoveryRequest;
  headers: http.IncomingHttpHeaders;
  res: http.ServerResponse;
}

/** A control plane stand-in: records streams and acks; tests push messages by hand. */
class FakeControlPlane {
  readonly streams: OpenStream[] = [];
  readonly acks: AckMessage[] = [];
  /** When set, the discovery endpoint answers with this status instead of a stream. */
  refuseWith: number | undefined;
  /** Called when a stream opens (e.g. to send the first snapshot at once). */
  onStream: ((stream: OpenStream) => void) | undefined;
  #server: http.Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (req.url === '/v1/discovery/ack') {
          this.acks.push(body as AckMessage);
          res.writeHead(204).end();
          return;
        }
        if (req.url !== '/v1/discovery') {
          res.writeHead(404).end();
          return;
        }
        if (this.refuseWith !== undefined) {
          res.writeHead(this.refuseWith).end('no');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.flushHeaders();
        const stream = { request: body as DiscoveryRequest, headers: req.headers, res };
        this.streams.push(stream);
        this.onStream?.(stream);
      });
    });
    this.#server = server;
    server.listen(port, HOST);
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  send(stream: OpenStream, message: DiscoveryMessage): void {
    stream.res.write(`${JSON.stringify(message)}\n`);
  }

  snapshot(
    stream: OpenStream,
    version: string,
    nonce: string,
    input: unknown = snapshotInput(version),
  ): void {
    this.send(stream, { type: 'snapshot', version, nonce, snapshot: input as SnapshotInput });
  }

  /** Kills the server and every open connection, like a crashed control plane. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(extra: Partial<DiscoveryClientOptions> = {}): Promise<{
  cp: FakeControlPlane;
  client: DiscoveryClient;
  applied: Snapshot[];
  statuses: DiscoveryStatus[];
}> {
  const cp = new FakeControlPlane();
  await cp.start();
  cleanups.push(() => cp.stop());
  const applied: Snapshot[] = [];
  const client = new DiscoveryClient({
    url: cp.url,
    node,
    apply: (s) => {
      applied.push(s);
    },
    logger: pino({ level: 'silent' }),
    backoff: { initialMs: 20, maxMs: 100 },
    ...extra,
  });
  const statuses: DiscoveryStatus[] = [];
  client.onStatus((s) => statuses.push(s));
  cleanups.push(() => client.stop());
  return { cp, client, applied, statuses };
}

describe('DiscoveryClient', () => {
  it('sends its node, applies a snapshot and ACKs its version and nonce', async () => {
    const { cp, client, applied } = await setup({ token: 's3cret' });
    cp.onStream = (s) => cp.snapshot(s, 'v1', 'n1');
    client.start();
    await waitFor(() => cp.acks.length === 1, 'the ack');
    expect(cp.acks[0]).toEqual({ nodeId: node.id, type: 'ack', version: 'v1', nonce: 'n1' });
    expect(applied).toHaveLength(1);
    expect(applied[0]?.clusters[0]?.name).toBe('outbound|80||service-b');
    // Defaults were filled in by parseSnapshot.
    expect(applied[0]?.clusters[0]?.lbPolicy).toBe('ROUND_ROBIN');
    expect(cp.streams[0]?.request.node).toEqual(node);
    expect(cp.streams[0]?.request.version).toBeUndefined();
    expect(cp.streams[0]?.headers.authorization).toBe('Bearer s3cret');
    const status = client.status;
    expect(status).toMatchObject({ connected: true, stale: false, version: 'v1', reconnects: 0 });
    expect(typeof status.connectedSince).toBe('number');
  });

  it('NACKs an invalid snapshot and one whose apply throws, keeping the old version', async () => {
    const applied: string[] = [];
    const { cp, client } = await setup({
      apply: (s) => {
        if (s.version === 'v3') throw new Error('port 8080 is taken');
        applied.push(s.version);
      },
    });
    cp.onStream = (s) => {
      cp.snapshot(s, 'v1', 'n1');
      cp.snapshot(s, 'v2', 'n2', {
        version: 'v2',
        listeners: [],
        clusters: [{ name: 'x', endpoints: [{ port: 0 }] }],
      });
      cp.snapshot(s, 'v3', 'n3');
    };
    client.start();
    await waitFor(() => cp.acks.length === 3, 'three answers');
    expect(cp.acks[0]).toEqual({ nodeId: node.id, type: 'ack', version: 'v1', nonce: 'n1' });
    const nack2 = cp.acks[1];
    expect(nack2).toMatchObject({ nodeId: node.id, type: 'nack', nonce: 'n2', keptVersion: 'v1' });
    expect(nack2?.type === 'nack' && nack2.error).toMatch(
      /snapshot is invalid.*clusters\[0\]\.endpoints\[0\]/,
    );
    expect(cp.acks[2]).toMatchObject({
      type: 'nack',
      nonce: 'n3',
      keptVersion: 'v1',
      error: 'port 8080 is taken',
    });
    expect(applied).toEqual(['v1']);
    expect(client.status.version).toBe('v1');
    expect(client.status.lastNack).toMatchObject({ nonce: 'n3', error: 'port 8080 is taken' });
  });

  it('processes messages strictly in order, one apply at a time', async () => {
    const events: string[] = [];
    const { cp, client } = await setup({
      apply: async (s) => {
        events.push(`start ${s.version}`);
        await new Promise((r) => setTimeout(r, s.version === 'v1' ? 100 : 0));
        events.push(`end ${s.version}`);
      },
    });
    cp.onStream = (s) => {
      // Both messages in one write: the second must wait for the first to finish.
      s.res.write(
        `${JSON.stringify({ type: 'snapshot', version: 'v1', nonce: 'a', snapshot: snapshotInput('v1') })}\n` +
          `${JSON.stringify({ type: 'snapshot', version: 'v2', nonce: 'b', snapshot: snapshotInput('v2') })}\n`,
      );
    };
    client.start();
    await waitFor(() => cp.acks.length === 2, 'two acks');
    expect(events).toEqual(['start v1', 'end v1', 'start v2', 'end v2']);
    expect(cp.acks.map((a) => a.nonce)).toEqual(['a', 'b']);
  });

  it('goes stale when the control plane dies, reconnects when it returns and takes the new snapshot', async () => {
    const { cp, client, applied, statuses } = await setup();
    cp.onStream = (s) => cp.snapshot(s, 'v1', 'n1');
    client.start();
    await waitFor(() => cp.acks.length === 1, 'the first ack');
    const port = cp.port;
    await cp.stop();
    await waitFor(() => client.status.stale, 'stale status');
    expect(client.status.connected).toBe(false);
    expect(client.status.version).toBe('v1');
    // Let a few reconnects fail against the dead address.
    await waitFor(() => client.status.reconnects >= 2, 'reconnect attempts');

    const cp2 = new FakeControlPlane();
    await cp2.start(port);
    cleanups.push(() => cp2.stop());
    cp2.onStream = (s) => cp2.snapshot(s, 'v2', 'n2', snapshotInput('v2', 'outbound|80|v2|service-b'));
    await waitFor(() => cp2.acks.length === 1, 'the ack after reconnect');
    expect(cp2.streams[0]?.request.version).toBe('v1');
    expect(cp2.acks[0]).toEqual({ nodeId: node.id, type: 'ack', version: 'v2', nonce: 'n2' });
    expect(applied.map((s) => s.version)).toEqual(['v1', 'v2']);
    expect(client.status).toMatchObject({ connected: true, stale: false, version: 'v2' });
    expect(statuses.some((s) => s.stale && !s.connected)).toBe(true);
  });

  it('drops a silent stream and reconnects; heartbeats keep a stream alive', async () => {
    const { cp, client } = await setup({ heartbeatDeadAfterMs: 600 });
    let beat: NodeJS.Timeout | undefined;
    cleanups.push(async () => clearInterval(beat));
    cp.onStream = (s) => {
      if (cp.streams.length === 1) {
        cp.snapshot(s, 'v1', 'n1');
        // First stream: heartbeats for a while, then silence with the connection still open.
        let beats = 0;
        beat = setInterval(() => {
          beats += 1;
          if (beats <= 40) cp.send(s, { type: 'heartbeat', time: Date.now() });
        }, 50);
      }
    };
    client.start();
    await waitFor(() => cp.acks.length === 1, 'the ack');
    // 40 beats at 50 ms = ~2 s of heartbeats, far longer than the 600 ms limit: the stream must survive it.
    await new Promise((r) => setTimeout(r, 1200));
    expect(cp.streams).toHaveLength(1);
    await waitFor(() => cp.streams.length >= 2, 'a second stream after the silence');
    expect(cp.streams[1]?.request.version).toBe('v1');
    expect(client.status.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('is stale before its first connection only when running a bootstrap config', async () => {
    const cp = new FakeControlPlane();
    cp.refuseWith = 503;
    await cp.start();
    cleanups.push(() => cp.stop());
    const logger = pino({ level: 'silent' });
    const withBootstrap = new DiscoveryClient({
      url: cp.url,
      node,
      apply: () => {},
      logger,
      initialVersion: 'boot',
      backoff: { initialMs: 10, maxMs: 50 },
    });
    const without = new DiscoveryClient({ url: cp.url, node, apply: () => {}, logger });
    expect(withBootstrap.status).toMatchObject({ stale: true, connected: false, version: 'boot' });
    expect(without.status).toMatchObject({ stale: false, connected: false, version: undefined });
    withBootstrap.start();
    cleanups.push(() => withBootstrap.stop());
    // HTTP errors are retried with backoff, never thrown.
    await waitFor(() => withBootstrap.status.reconnects >= 3, 'retries after 503');
    expect(withBootstrap.status).toMatchObject({ stale: true, connected: false, version: 'boot' });
    cp.refuseWith = undefined;
    cp.onStream = (s) => cp.snapshot(s, 'boot', 'n1');
    await waitFor(() => cp.acks.length === 1, 'ack of the unchanged version');
    expect(cp.acks[0]).toMatchObject({ type: 'ack', version: 'boot' });
    expect(withBootstrap.status).toMatchObject({ stale: false, connected: true });
  });

  it('drops a stream that sends a line that is not JSON', async () => {
    const { cp, client } = await setup();
    cp.onStream = (s) => {
      if (cp.streams.length === 1) s.res.write('this is not json\n');
      else cp.snapshot(s, 'v1', 'n1');
    };
    client.start();
    await waitFor(() => cp.acks.length === 1, 'an ack on the second stream');
    expect(cp.streams.length).toBe(2);
  });

  it('stop() ends the stream and no reconnect follows', async () => {
    const { cp, client } = await setup();
    cp.onStream = (s) => cp.snapshot(s, 'v1', 'n1');
    client.start();
    await waitFor(() => cp.acks.length === 1, 'the ack');
    await client.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(cp.streams).toHaveLength(1);
    expect(client.status.connected).toBe(false);
  });
});

describe('nextBackoffMs', () => {
  it('grows exponentially to the cap with full jitter', () => {
    const policy = { initialMs: 200, maxMs: 10_000 };
    expect(nextBackoffMs(0, policy, () => 1)).toBe(200);
    expect(nextBackoffMs(3, policy, () => 1)).toBe(1600);
    expect(nextBackoffMs(10, policy, () => 1)).toBe(10_000);
    expect(nextBackoffMs(1000, policy, () => 1)).toBe(10_000);
    expect(nextBackoffMs(5, policy, () => 0)).toBe(0);
    expect(nextBackoffMs(2, policy, () => 0.5)).toBe(400);
  });
});

describe('LineSplitter', () => {
  it('joins lines split across chunks, including split UTF-8 characters', () => {
    const splitter = new LineSplitter(1000);
    const bytes = Buffer.from('{"a":"é"}\n{"b":1}\n{"c"');
    expect(splitter.push(bytes.subarray(0, 8))).toEqual([]);
    expect(splitter.push(bytes.subarray(8, 12))).toEqual(['{"a":"é"}']);
    expect(splitter.push(bytes.subarray(12))).toEqual(['{"b":1}']);
    expect(splitter.push(Buffer.from(':2}\n'))).toEqual(['{"c":2}']);
  });

  it('refuses a line over the limit', () => {
    const splitter = new LineSplitter(10);
    expect(() => splitter.push(Buffer.from('x'.repeat(20)))).toThrow(/longer than 10/);
  });
});
