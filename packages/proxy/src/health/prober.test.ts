// The HTTP prober against real loopback sockets: success, unexpected status, timeout, refused.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpProber } from './active.ts';
import { HealthState } from './state.ts';

const servers: Server[] = [];
const probers: HttpProber[] = [];
afterEach(async () => {
  await Promise.all(probers.splice(0).map((p) => p.close()));
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  );
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function target(port: number) {
  return { key: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}`, activeHealth: new HealthState() };
}

const config = {
  path: '/healthz',
  intervalMs: 1000,
  timeoutMs: 150,
  healthyThreshold: 1,
  unhealthyThreshold: 1,
};

describe('HttpProber', () => {
  it('classifies success, bad status, timeout and refused connections', async () => {
    let status = 204;
    const ok = await serve((_req, res) => {
      res.statusCode = status;
      res.end();
    });
    const hang = await serve(() => {}); // never answers
    const prober = new HttpProber(config, 'svc');
    probers.push(prober);
    expect(await prober.probe(target(ok))).toBe('success');
    status = 503;
    expect(await prober.probe(target(ok))).toBe('failure');
    expect(await prober.probe(target(hang))).toBe('timeout');

    const closed = await serve(() => {});
    const server = servers.pop();
    await new Promise((r) => server?.close(r));
    expect(await prober.probe(target(closed))).toBe('failure');
  });
});
