// Cross-process: the control plane's resource API under hostile input. Deep nesting is refused before
// parsing while readiness keeps answering; a slow parse runs off the event loop; an oversize body gets 413
// naming the limit; long names persist; huge names do not make huge answers; slow bodies time out.
import { mkdtemp, readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiAuth, type Proc, REPO, spawnNode, waitFor } from './control-plane-support.ts';

const ADDR = '127.0.141.1';
const API = `http://${ADDR}:15010`;
let cp: Proc;
let configDir: string;

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'strait-hostile-cp-'));
  cp = spawnNode('control-plane', join(REPO, 'packages/control-plane/src/main.ts'), [
    '--config-dir',
    configDir,
    '--address',
    ADDR,
    '--request-timeout-ms',
    '1500',
    '--log-level',
    'warn',
  ]);
  await waitFor('control plane ready', async () => {
    if (cp.child.exitCode !== null) throw new Error(cp.output());
    const res = await request(`${API}/ready`);
    await res.body.text();
    return res.statusCode === 200 ? true : undefined;
  });
});

afterAll(async () => {
  await cp?.stop();
});

async function put(body: string | Buffer): Promise<{ status: number; text: string }> {
  const res = await request(`${API}/v1/resources`, {
    method: 'PUT',
    body,
    headers: { 'content-type': 'application/yaml', ...(await apiAuth(configDir)) },
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Times GET /ready while `busy` runs, and returns both. */
async function readyDuring<T>(busy: Promise<T>): Promise<{ result: T; readyMs: number[] }> {
  const readyMs: number[] = [];
  let done = false;
  const probing = (async () => {
    await new Promise((r) => setTimeout(r, 20));
    while (!done && readyMs.length < 5) {
      const started = performance.now();
      const res = await request(`${API}/ready`);
      await res.body.text();
      expect(res.statusCode).toBe(200);
      readyMs.push(performance.now() - started);
    }
  })();
  const result = await busy;
  done = true;
  await probing;
  return { result, readyMs };
}

const serviceEntry = (name: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${name}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  ports: [{ number: 443, name: https, protocol: TLS }]
  resolution: DNS
`;

describe('the resource API under hostile input', () => {
  it('refuses deeply nested YAML at once, three at a time, and readiness keeps answering', async () => {
    const bomb = '['.repeat(900_000);
    const { result } = await readyDuring(Promise.all([put(bomb), put(bomb), put(bomb)]));
    for (const answer of result) {
      expect(answer.status).toBe(400);
      expect(answer.text).toContain('STRAIT_CONFIG_TOO_COMPLEX');
      expect(answer.text).toMatch(/nests deeper than 64 levels/);
    }
  });

  it('parses a slow (huge flat) document off the event loop: readiness answers meanwhile', async () => {
    let flat = 'apiVersion: strait.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: flat }\nspec:\n';
    for (let i = 0; flat.length < 1_000_000; i++) flat += `  key${i}: value${i}\n`;
    const { result, readyMs } = await readyDuring(put(flat));
    expect(result.status).toBe(400);
    expect(result.text).toMatch(/STRAIT_CONFIG_TOO_COMPLEX|STRAIT_CONFIG_UNSUPPORTED|STRAIT_CONFIG_INVALID/);
    expect(readyMs.length).toBeGreaterThan(0);
  });

  it('answers an oversize body with 413 naming the limit (not a reset)', async () => {
    const answer = await put(Buffer.alloc(5 * 1024 * 1024, 'a'));
    expect(answer.status).toBe(413);
    expect(answer.text).toContain('STRAIT_PAYLOAD_TOO_LARGE');
    expect(answer.text).toContain(`${1024 * 1024} bytes`);
  });

  it('persists resources with names up to the schema’s 253 characters', async () => {
    for (const length of [216, 240, 253]) {
      const name = `n${'x'.repeat(length - 2)}n`;
      const answer = await put(serviceEntry(name));
      expect({ length, status: answer.status, text: answer.text }).toMatchObject({ length, status: 200 });
      const back = await request(`${API}/v1/resources/ServiceEntry/${name}`);
      expect(back.statusCode).toBe(200);
      await back.body.text();
    }
    const files = await readdir(configDir);
    expect(files.every((f) => Buffer.byteLength(f) <= 255)).toBe(true);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('does not echo a huge name back at full length', async () => {
    const answer = await put(serviceEntry(`n${'x'.repeat(900_000)}`));
    expect(answer.status).toBe(400);
    expect(answer.text.length).toBeLessThan(4096);
    expect(answer.text).toMatch(/characters/);
  });

  it('closes a request whose body never finishes once the request timeout passes', async () => {
    const { authorization } = await apiAuth(configDir);
    const closed = await new Promise<{ ms: number; answer: string }>((resolve) => {
      const started = performance.now();
      const socket = connect({ host: ADDR, port: 15010 });
      let answer = '';
      socket.on('data', (d) => {
        answer += d.toString();
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve({ ms: performance.now() - started, answer }));
      socket.write(
        `PUT /v1/resources HTTP/1.1\r\nHost: cp\r\nAuthorization: ${authorization}\r\nContent-Length: 1000\r\n\r\nkind: x\n`,
      );
    });
    expect(closed.answer).toMatch(/^HTTP\/1\.1 408|^$/);
    expect(closed.ms).toBeGreaterThanOrEqual(1000);
  });
});
