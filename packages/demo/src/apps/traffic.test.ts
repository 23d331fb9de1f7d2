// The traffic generator stays bounded: a total count, a cap on requests in flight, and stop().
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { meshServiceOptionsFromEnv } from './mesh-service.ts';
import { startTraffic, type TrafficOptions, trafficOptionsFromEnv } from './traffic.ts';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function server(delayMs: number): Promise<{ url: string; maxConcurrent: () => number }> {
  let current = 0;
  let max = 0;
  const s = createServer(async (_req, res) => {
    current += 1;
    max = Math.max(max, current);
    await sleep(delayMs);
    current -= 1;
    res.end('{"ok":true}');
  });
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  if (!a || typeof a === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${a.port}/`, maxConcurrent: () => max };
}

const base: Omit<TrafficOptions, 'target'> = {
  rate: 200,
  maxInFlight: 50,
  maxRequests: 0,
  durationMs: 0,
  timeoutMs: 5000,
  reportEverySeconds: 0,
};

describe('traffic generator', () => {
  it('stops after maxRequests and reports every answer', async () => {
    const s = await server(0);
    const seen: number[] = [];
    const t = startTraffic({ ...base, target: s.url, maxRequests: 25 }, (r) => seen.push(r.status));
    const stats = await t.done;
    expect(stats.sent).toBe(25);
    expect(stats.completed).toBe(25);
    expect(stats.byStatus).toEqual({ 200: 25 });
    expect(seen).toHaveLength(25);
  });

  it('never has more than maxInFlight requests open, counting the ticks it skips', async () => {
    const s = await server(300);
    const t = startTraffic({ ...base, target: s.url, maxInFlight: 3 });
    await sleep(700);
    const stats = await t.stop();
    expect(s.maxConcurrent()).toBeLessThanOrEqual(3);
    expect(stats.skipped).toBeGreaterThan(0);
    expect(stats.completed).toBe(stats.sent);
  });

  it('counts connection errors instead of throwing', async () => {
    const t = startTraffic({ ...base, target: 'http://127.0.0.1:1/', maxRequests: 3 });
    const stats = await t.done;
    expect(stats.errors).toBe(3);
  });

  it('reads its settings from the environment, refusing bad values', () => {
    expect(trafficOptionsFromEnv({ RATE: '7', TARGET: 'http://x/' })).toMatchObject({
      rate: 7,
      target: 'http://x/',
    });
    expect(() => trafficOptionsFromEnv({ RATE: 'fast' })).toThrow(/RATE must be a number/);
    expect(() => meshServiceOptionsFromEnv('service-a', { FAIL_RATE: '2' })).toThrow(/FAIL_RATE/);
    expect(meshServiceOptionsFromEnv('service-a', { HTTP_PROXY: 'http://p:15001' }).httpProxy).toBe(
      'http://p:15001',
    );
  });
});
