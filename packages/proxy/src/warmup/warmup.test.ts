// The warm-up runs real requests through the proxy's own path on loopback, for every listener kind of a
// role, stops at its deadline, and leaves no server or socket behind.
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { NodeIdentity } from '../listener/context.ts';
import { warmUp, warmupKinds } from './warmup.ts';

const node: NodeIdentity = {
  id: 'warmup-test',
  role: 'sidecar',
  workload: 'warmup-test',
  namespace: 'default',
  app: 'warmup-test',
  version: 'v1',
  peerHeader: '',
  via: '1.1 warmup-test (strait-sidecar)',
};
const logger = pino({ level: 'silent' });

/** Servers and sockets this process holds open. */
function openHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap')
    .length;
}

describe('warmUp', () => {
  it('serves a sidecar on both its listener kinds and a gateway on its one', () => {
    expect(warmupKinds('sidecar')).toEqual(['inbound', 'outbound']);
    expect(warmupKinds('ingress')).toEqual(['gateway']);
    expect(warmupKinds('egress')).toEqual(['gateway']);
  });

  it('gets every request answered through the proxy path and leaves nothing open', async () => {
    const before = openHandles();
    for (const role of ['sidecar', 'ingress'] as const) {
      const result = await warmUp(role, { node, logger, version: 'test', requests: 120 });
      expect(result.requests).toBe(120);
    }
    // Closed sockets leave the list on the next turns of the event loop.
    for (let i = 0; i < 50 && openHandles() > before; i++) await sleep(20);
    expect(openHandles()).toBe(before);
  });

  it('stops at its deadline with requests left', async () => {
    const result = await warmUp('ingress', {
      node,
      logger,
      version: 'test',
      requests: 1_000_000,
      deadlineMs: 200,
    });
    expect(result.requests).toBeGreaterThan(0);
    expect(result.requests).toBeLessThan(1_000_000);
  });
});
