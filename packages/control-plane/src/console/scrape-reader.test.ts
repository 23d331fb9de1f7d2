// The scrape reader against a real HTTP stats endpoint (port 0): counter increases become rates over
// the window, a restarted proxy's counters count as new, and a proxy that does not answer is reported.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeInfo } from '@strait/api';
import { afterEach, describe, expect, it } from 'vitest';
import { ScrapeReader } from './scrape-reader.ts';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A stats endpoint whose text the test changes between readings. */
async function statsServer(): Promise<{ address: string; set(text: string): void }> {
  let body = '';
  const server = createServer((_req, res) => res.end(body));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, set: (t) => (body = t) };
}

const line = (code: string, n: number) =>
  `istio_requests_total{reporter="source",source_workload="a-v1",source_app="a",source_version="v1",destination_workload="b-v1",destination_app="b",destination_version="v1",destination_service="b",response_code="${code}",connection_security_policy="unknown",request_protocol="http"} ${n}`;

describe('ScrapeReader', () => {
  it('turns counter increases into rates over the window and adds the proxy as proxy_id', async () => {
    const stats = await statsServer();
    let now = 1_000_000;
    const node: NodeInfo = {
      id: 'a-1',
      role: 'sidecar',
      workload: 'a-v1',
      namespace: 'default',
      statsAddress: stats.address,
    };
    const reader = new ScrapeReader({ targets: () => [node], windowSeconds: 30, now: () => now });
    stats.set(
      `${line('200', 10)}\nstrait_egress_denied_total{reason="host_not_allowed",host="x.org"} 2\nstrait_cluster_healthy_endpoints{cluster="c"} 1\nstrait_cluster_endpoints{cluster="c"} 2\n`,
    );
    const first = await reader.read();
    expect(first.requests[0]?.value).toBe(0); // one reading: no rate yet
    now += 10_000;
    stats.set(
      `${line('200', 60)}\n${line('503', 5)}\nstrait_egress_denied_total{reason="host_not_allowed",host="x.org"} 4\n`,
    );
    const second = await reader.read();
    const byCode = Object.fromEntries(second.requests.map((s) => [s.labels.response_code, s.value]));
    expect(byCode).toEqual({ '200': 5, '503': 0.5 });
    expect(second.egressDenied).toEqual([
      {
        labels: { proxy_id: 'a-1', workload: 'a-v1', host: 'x.org', reason: 'host_not_allowed' },
        total: 4,
        rate: 0.2,
      },
    ]);
    expect(second.problems).toEqual([]);
    // A restart: the counter starts again from zero, and what it counts is all new: (50 + 20) in 20 s.
    now += 10_000;
    stats.set(`${line('200', 20)}\n`);
    const third = await reader.read();
    expect(third.requests.find((s) => s.labels.response_code === '200')?.value).toBeCloseTo(3.5);
  });

  it('reports a proxy that does not answer and keeps reading the others', async () => {
    const stats = await statsServer();
    const closed = await statsServer();
    const closedAddress = closed.address;
    await new Promise((resolve) => servers.pop()?.close(resolve));
    stats.set(`${line('200', 1)}\n`);
    const reader = new ScrapeReader({
      targets: () => [
        { id: 'up', role: 'sidecar', workload: 'a-v1', namespace: 'default', statsAddress: stats.address },
        { id: 'gone', role: 'sidecar', workload: 'b-v1', namespace: 'default', statsAddress: closedAddress },
      ],
      windowSeconds: 30,
    });
    const reading = await reader.read();
    expect(reading.requests).toHaveLength(1);
    expect(reading.problems).toEqual([
      `gone: no answer from http://${closedAddress}/stats/prometheus (ECONNREFUSED)`,
    ]);
    expect(reader.describe()).toMatch(/2 proxies'/);
  });
});
