// The control plane killed (SIGKILL) under traffic: no request fails, proxies keep their last good
// config, reconnect and re-register when it comes back, and what was applied before the kill survives.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  get,
  type Mesh,
  PROXY_IDS,
  splitYaml,
  startMesh,
  waitFor,
  waitUntilSynced,
} from './control-plane-support.ts';

let mesh: Mesh;

beforeAll(async () => {
  mesh = await startMesh(100);
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
}, 30_000);

/** Sends requests through the front door from `workers` loops until stopped; counts answers. */
function traffic(workers: number) {
  let running = true;
  const answers: Record<string, number> = {};
  const failures: string[] = [];
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const a = await mesh.front();
        const key = a.status === 200 ? a.text : `${a.status} ${a.text.slice(0, 100)}`;
        answers[key] = (answers[key] ?? 0) + 1;
        if (a.status !== 200) failures.push(key);
      } catch (err) {
        failures.push(String(err));
      }
    }
  });
  return {
    answers,
    failures,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe('control plane restarts', () => {
  it('killing the control plane under traffic fails no request; proxies reconnect and re-register', async () => {
    const file = join(mesh.configDir, '..', `v1-only-${process.pid}.yaml`);
    await writeFile(file, splitYaml(100, 0));
    expect((await mesh.straitctl('apply', '-f', file)).code).toBe(0);
    await waitFor('the v1-only split to be ACKed', async () => {
      const rows = await waitUntilSynced(mesh);
      return (await mesh.front()).text === 'a>b-v1' ? rows : undefined;
    });

    const load = traffic(2);
    await new Promise((r) => setTimeout(r, 500));
    await mesh.controlPlane.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 2000));
    const down = await mesh.straitctl('proxy-status');
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^Error: cannot reach the control plane at http:\/\/127\.0\.104\.101:15010 \(ECONNREFUSED\)/,
    );
    expect(down.stderr.split('\n').filter(Boolean)).toHaveLength(1);

    await mesh.startControlPlane();
    const rows = await waitUntilSynced(mesh, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    await load.stop();

    expect(load.failures).toEqual([]);
    expect(Object.keys(load.answers)).toEqual(['a>b-v1']);
    expect(load.answers['a>b-v1']).toBeGreaterThan(20);
    expect(rows.map((r) => r.id)).toEqual(PROXY_IDS);
    expect(rows.every((r) => r.connected)).toBe(true);
    const targets = JSON.parse((await get(`${mesh.monitoring}/v1/prometheus/targets`)).text) as unknown[];
    expect(targets).toHaveLength(6);
  }, 90_000);

  it('what was applied before the kill is served after the restart', async () => {
    const got = JSON.parse((await get(`${mesh.server}/v1/resources/virtualservice/service-b`)).text) as {
      spec: { http: { route: { weight: number }[] }[] };
    };
    expect(got.spec.http[0]?.route.map((r) => r.weight)).toEqual([100, 0]);
    expect(await readFile(join(mesh.configDir, 'services.yaml'), 'utf8')).toContain('weight: 100');
    // And the restarted control plane still pushes changes: back to 0/100.
    const file = join(mesh.configDir, '..', `v2-only-${process.pid}.yaml`);
    await writeFile(file, splitYaml(0, 100));
    expect((await mesh.straitctl('apply', '-f', file)).code).toBe(0);
    await waitFor('traffic to move to v2', async () =>
      (await mesh.front()).text === 'a>b-v2' ? true : undefined,
    );
    await waitUntilSynced(mesh);
  }, 60_000);
});
