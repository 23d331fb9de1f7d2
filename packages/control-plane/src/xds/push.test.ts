// Pushing at scale: shared translation gives the same snapshots as translating each proxy alone (and the
// same resource objects, split once), the wire line is exactly JSON.stringify's, and a crowd of proxies
// behind a small push window converges.
import { once } from 'node:events';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeltaMessage, type NodeInfo, splitSnapshot } from '@strait/api';
import { validateAll } from '@strait/api/resources';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { readConfigDir } from '../config/directory-store.ts';
import { ControlPlane } from '../control-plane.ts';
import { FakeProxy } from '../testing/fake-proxy.ts';
import { MESH_NODES } from '../testing/mesh-nodes.ts';
import { indexMesh } from '../translate/mesh-index.ts';
import { SharedTranslation, snapshotFor } from '../translate/snapshot.ts';
import { deltaLine, lineBytes, writeLine } from './wire.ts';

const MESH_DIR = new URL('../testdata/mesh', import.meta.url).pathname;

function sidecar(i: number): NodeInfo {
  const service = i % 2 === 0 ? 'service-a' : 'service-b';
  const address = `127.0.9.${10 + i}`;
  return {
    id: `crowd-${service}-${i}`,
    role: 'sidecar',
    workload: `${service}-v1`,
    namespace: 'default',
    service,
    version: 'v1',
    address,
    appAddress: address,
    appPort: 8080 + (i % 3),
    ports: { inbound: 15006, outbound: 15001, admin: 15000, stats: 15090 },
  };
}

async function meshIndex(extra: NodeInfo[] = []) {
  const { resources, issues } = validateAll(await readConfigDir(MESH_DIR));
  expect(issues).toEqual([]);
  return indexMesh({ resources, proxies: [...MESH_NODES, ...extra] });
}

describe('shared translation', () => {
  it('gives every proxy what translating it alone gives, sharing the outbound part between sidecars', async () => {
    const crowd = Array.from({ length: 6 }, (_, i) => sidecar(i));
    const index = await meshIndex(crowd);
    const shared = new SharedTranslation(index);
    for (const node of [...MESH_NODES, ...crowd])
      expect(snapshotFor(index, node, shared)).toEqual(snapshotFor(index, node));
    // Shared objects split into the same resource objects, so they are hashed and encoded once.
    const [r0, r1] = [crowd[0], crowd[2]].map((n) =>
      splitSnapshot(snapshotFor(index, n as NodeInfo, shared)),
    );
    const routesOf = (rs: typeof r0) => rs?.find((r) => r.type === 'routes' && r.name === 'virtualOutbound');
    expect(routesOf(r0)).toBe(routesOf(r1));
    const [a, b] = [
      snapshotFor(index, crowd[0] as NodeInfo, shared),
      snapshotFor(index, crowd[1] as NodeInfo, shared),
    ];
    expect(a.listeners[1]).toBe(b.listeners[1]);
    expect(a.version).not.toBe(b.version);
    expect(a.listeners[0]).not.toEqual(b.listeners[0]);
  });
});

function fullDelta(node: NodeInfo, shared: SharedTranslation, nonce: string): DeltaMessage {
  const snapshot = snapshotFor(shared.index, node, shared);
  return {
    type: 'delta',
    version: snapshot.version,
    nonce,
    full: true,
    removed: [],
    resources: splitSnapshot(snapshot),
  };
}

const text = (pieces: (Buffer | string)[]) => pieces.map((p) => p.toString()).join('');

describe('wire line', () => {
  it('is byte for byte the JSON of the message, version and nonce first', async () => {
    const index = await meshIndex();
    const shared = new SharedTranslation(index);
    for (const node of MESH_NODES) {
      const { type: _type, ...message } = fullDelta(node, shared, 'n-1');
      const pieces = deltaLine(message);
      const expected = `${JSON.stringify({ type: 'delta', ...message })}\n`;
      expect(text(pieces)).toBe(expected);
      expect(lineBytes(pieces)).toBe(Buffer.byteLength(expected));
      expect(expected.indexOf('"nonce"')).toBeLessThan(expected.indexOf('"resources"'));
    }
    const removal = deltaLine({
      version: 'v',
      nonce: 'n',
      resources: [],
      removed: [{ type: 'cluster', name: 'x' }],
    });
    expect(text(removal)).toBe(
      '{"type":"delta","version":"v","nonce":"n","removed":[{"type":"cluster","name":"x"}],"resources":[]}\n',
    );
  });

  it('leaves as one HTTP chunk per message though its shared pieces are written unjoined', async () => {
    const crowd = Array.from({ length: 60 }, (_, i) => sidecar(i));
    const index = await meshIndex(crowd);
    const shared = new SharedTranslation(index);
    const lines = [crowd[0], crowd[1]].map((n, i) => {
      const { type: _type, ...message } = fullDelta(n as NodeInfo, shared, `n-${i}`);
      return deltaLine(message);
    });
    // Big enough that the shared endpoints travel as separate pieces.
    expect(lines[0]?.length).toBeGreaterThan(2);
    const written: number[] = [];
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.flushHeaders();
      lines.forEach((pieces, i) => {
        writeLine(res, pieces, () => written.push(i));
      });
      res.end();
    });
    server.listen(0, '127.0.131.1');
    await once(server, 'listening');
    try {
      const socket = connect((server.address() as AddressInfo).port, '127.0.131.1');
      socket.end('GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n');
      const raw: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => raw.push(chunk));
      await once(socket, 'close');
      const all = Buffer.concat(raw).toString();
      let body = all.slice(all.indexOf('\r\n\r\n') + 4);
      const chunks: string[] = [];
      for (;;) {
        const size = Number.parseInt(body.slice(0, body.indexOf('\r\n')), 16);
        body = body.slice(body.indexOf('\r\n') + 2);
        if (size === 0) break;
        const bytes = Buffer.from(body);
        chunks.push(bytes.subarray(0, size).toString());
        body = bytes.subarray(size + 2).toString();
      }
      expect(chunks).toEqual(lines.map(text));
      expect(written).toEqual([0, 1]);
    } finally {
      server.close();
    }
  });
});

describe('pushing to a crowd', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('converges every proxy through a push window of 2, each on its latest snapshot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strait-cp-crowd-'));
    await cp(MESH_DIR, dir, { recursive: true });
    const plane = new ControlPlane({
      configDir: dir,
      address: '127.0.0.1',
      port: 0,
      monitoringPort: 0,
      debounceMs: 20,
      pushConcurrency: 2,
      stateFile: false,
      watch: false,
      logger: pino({ level: 'silent' }),
    });
    const { port } = await plane.start();
    const proxies = Array.from(
      { length: 12 },
      (_, i) => new FakeProxy(`http://127.0.0.1:${port}`, sidecar(i), undefined, { autoAck: true }),
    );
    cleanups.push(async () => {
      for (const p of proxies) await p.disconnect();
      await plane.stop();
      await rm(dir, { recursive: true, force: true });
    });
    for (const p of proxies) expect(await p.connect()).toBe(200);

    // Once things settle, every proxy's last snapshot is the one the control plane wants it to run,
    // and includes every sidecar of the crowd as an endpoint.
    const settled = async () => {
      for (const p of proxies)
        await p.waitFor(
          (x) => x.snapshots.at(-1)?.version === plane.discovery.snapshotOf(x.node.id)?.version,
        );
    };
    await settled();
    for (const p of proxies) {
      const last = p.snapshots.at(-1);
      if (!last) throw new Error('no snapshot');
      const a = last.snapshot.clusters.find((c) => c.name === 'outbound|80||service-a');
      expect(a?.endpoints.filter((e) => e.address.startsWith('127.0.9.'))).toHaveLength(6);
      // After the first, full message, only endpoints (and the known workloads) changed as the crowd registered.
      for (const later of p.snapshots.slice(1))
        for (const r of later.delta.resources) expect(['endpoints', 'peers']).toContain(r.type);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(
      plane.discovery.status().filter((s) => s.id.startsWith('crowd-') && s.status === 'SYNCED'),
    ).toHaveLength(12);
  });
});
