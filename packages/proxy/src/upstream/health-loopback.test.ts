// Active health checks against real loopback servers: an endpoint answering 500 is taken out of
// rotation and comes back when it answers 200 again. Also checks the Host header and that the
// host's traffic Pool really reaches the server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterSchema } from '@strait/api';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { lookupOf } from '../codec/headers.ts';
import { ClusterManager } from './cluster-manager.ts';
import type { Host } from './host.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  );
});

async function serve(state: { status: number; hosts: string[] }): Promise<number> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') state.hosts.push(req.headers.host ?? '');
    res.statusCode = req.url === '/healthz' ? state.status : 200;
    res.end('ok');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Resolves when `predicate` holds, polling; generous bound for a busy machine. */
async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('active health check over loopback', () => {
  it('ejects an endpoint answering 500 and re-admits it when it answers 200', async () => {
    const good = { status: 200, hosts: [] as string[] };
    const flaky = { status: 200, hosts: [] as string[] };
    const goodPort = await serve(good);
    const flakyPort = await serve(flaky);
    const transitions: Array<[string, boolean]> = [];
    const manager = new ClusterManager({
      logger: pino({ level: 'silent' }),
      events: { healthTransition: (_c, host, healthy) => transitions.push([host.key, healthy]) },
    });
    const config = ClusterSchema.parse({
      name: 'outbound|80||service-b',
      service: 'service-b',
      panicThresholdPercent: 0,
      endpoints: [
        { address: '127.0.0.1', port: goodPort },
        { address: '127.0.0.1', port: flakyPort },
      ],
      healthCheck: {
        path: '/healthz',
        intervalMs: 50,
        jitterMs: 10,
        timeoutMs: 1000,
        healthyThreshold: 2,
        unhealthyThreshold: 2,
      },
    });
    try {
      manager.update([config]);
      const cluster = manager.get(config.name);
      if (!cluster) throw new Error('cluster missing');
      const flakyHost = cluster.hosts.find((h) => h.port === flakyPort) as Host;
      const chosen = () =>
        new Set(
          Array.from(
            { length: 10 },
            () => cluster.choose({ headers: lookupOf({}), sourceIp: '127.0.0.1' })?.port,
          ),
        );

      await until(() => flakyHost.activeHealth.status === 'healthy', 'first successful check');
      expect(chosen().has(flakyPort)).toBe(true);

      flaky.status = 500;
      await until(() => !flakyHost.isHealthy(), 'the 500 endpoint to be marked unhealthy');
      expect(chosen()).toEqual(new Set([goodPort]));
      expect(cluster.status().hosts.find((h) => h.port === flakyPort)?.activeHealth).toBe('unhealthy');

      flaky.status = 200;
      await until(() => flakyHost.isHealthy(), 'the endpoint to be re-admitted');
      expect(chosen().has(flakyPort)).toBe(true);

      expect(transitions).toEqual([
        [flakyHost.key, false],
        [flakyHost.key, true],
      ]);
      expect(good.hosts.every((h) => h === 'service-b')).toBe(true);

      // The traffic pool reaches the same server.
      const status = await new Promise<number>((resolve, reject) =>
        flakyHost.pool.acquire((got) => {
          if ('failure' in got) return reject(got.error);
          let seen = 0;
          got.connection.send(
            { method: 'GET', path: '/', raw: ['host', 'service-b'], hasBody: false, length: undefined },
            {
              onHead: (s) => {
                seen = s;
              },
              onData: () => true,
              onEnd: () => resolve(seen),
              onError: (_failure, _before, err) => reject(err),
            },
          );
        }),
      );
      expect(status).toBe(200);
    } finally {
      await manager.close();
    }
  });
});
