// A small fake control plane for the discovery client's tests (node:http on 127.0.103.1): it records the
// stream requests and ACKs it gets and sends the deltas a test asks for; plus snapshot and delta builders.

import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AckMessage,
  type DeltaMessage,
  type DiscoveryMessage,
  type DiscoveryRequest,
  discoveryKey,
  type NodeInfo,
  REPLICA_HEADER,
  resourceDelta,
  type SnapshotInput,
  splitSnapshot,
  versionOfResources,
} from '@strait/api';

export const HOST = '127.0.103.1';
export const node: NodeInfo = {
  id: 'service-b-v1-1',
  role: 'sidecar',
  workload: 'service-b-v1',
  namespace: 'default',
};

/** A small snapshot: one listener routing to one cluster with one endpoint. */
export function snapshotInput(clusterName = 'outbound|80||service-b', port = 15006): SnapshotInput {
  return {
    version: '',
    listeners: [
      {
        name: 'virtualOutbound',
        kind: 'outbound',
        port: 15001,
        virtualHosts: [
          {
            name: 'b',
            domains: ['service-b'],
            routes: [
              {
                name: 'all',
                match: { path: { prefix: '/' } },
                route: { clusters: [{ cluster: clusterName, weight: 1 }] },
              },
            ],
          },
        ],
      },
    ],
    clusters: [{ name: clusterName, endpoints: [{ address: '127.0.103.9', port }] }],
  };
}

/** The delta that takes a proxy holding `held` (the versions it reported) to `next`. */
export function deltaTo(
  next: SnapshotInput,
  nonce: string,
  held?: DiscoveryRequest['resources'],
): DeltaMessage {
  const wanted = splitSnapshot(next);
  const version = versionOfResources(wanted);
  if (!held) return { type: 'delta', version, nonce, full: true, resources: wanted, removed: [] };
  const { resources, removed } = resourceDelta(
    new Map(held.map((r) => [discoveryKey(r), r.version])),
    wanted,
  );
  return { type: 'delta', version, nonce, resources, removed };
}

export const versionOf = (input: SnapshotInput) => versionOfResources(splitSnapshot(input));

export interface OpenStream {
  request: DiscoveryRequest;
  headers: http.IncomingHttpHeaders;
  res: http.ServerResponse;
}

/** A control plane stand-in: records streams and acks; tests push messages by hand. */
export class FakeControlPlane {
  readonly streams: OpenStream[] = [];
  readonly acks: AckMessage[] = [];
  /** When set, the discovery endpoint answers with this status instead of a stream. */
  refuseWith: number | undefined;
  /** Called when a stream opens (e.g. to send the first delta at once). */
  onStream: ((stream: OpenStream) => void) | undefined;
  /** The replica name it answers streams with, when set. */
  replica: string | undefined;
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
        res.writeHead(200, {
          'content-type': 'application/x-ndjson',
          ...(this.replica ? { [REPLICA_HEADER]: this.replica } : {}),
        });
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

  send(stream: OpenStream, message: DiscoveryMessage | Record<string, unknown>): void {
    stream.res.write(`${JSON.stringify(message)}\n`);
  }

  /** Sends the full state for `input`; returns its version. */
  full(stream: OpenStream, nonce: string, input: SnapshotInput = snapshotInput()): string {
    const delta = deltaTo(input, nonce);
    this.send(stream, delta);
    return delta.version;
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

export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
