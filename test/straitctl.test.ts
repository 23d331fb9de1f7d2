// straitctl against an in-process control plane: apply, get, delete, proxy-status, proxy-config, analyze,
// and the one-sentence answer when the server cannot be reached.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../packages/cli/src/program.ts';
import { ControlPlane } from '../packages/control-plane/src/control-plane.ts';
import { FakeProxy } from '../packages/control-plane/src/testing/fake-proxy.ts';
import { MESH_NODES } from '../packages/control-plane/src/testing/mesh-nodes.ts';

const MESH_DIR = new URL('../packages/control-plane/src/testdata/mesh', import.meta.url).pathname;
const MAIN = new URL('../packages/cli/src/main.ts', import.meta.url).pathname;
const SAMPLES_DIR = new URL('../packages/control-plane/src/testdata/istio-samples', import.meta.url).pathname;

let dir: string;
let work: string;
let plane: ControlPlane;
let server: string;
const proxies: FakeProxy[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strait-cli-cfg-'));
  work = await mkdtemp(join(tmpdir(), 'strait-cli-'));
  await cp(MESH_DIR, dir, { recursive: true });
  plane = new ControlPlane({
    configDir: dir,
    port: 0,
    monitoringPort: 0,
    debounceMs: 20,
    token: 'tok',
    logger: pino({ level: 'silent' }),
  });
  const { port } = await plane.start();
  server = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  for (const p of proxies) await p.disconnect();
  await plane.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

/** The URL of a port that was just free: nothing listens there. */
async function freeUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

async function straitctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(
    args,
    { out: (t) => (out += t), err: (t) => (err += t), stdin: async () => '' },
    { STRAIT_SERVER: server, STRAIT_TOKEN: 'tok' },
  );
  return { code, out, err };
}

const CANARY = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: service-b }
spec:
  hosts: [service-b]
  http:
    - name: split
      route:
        - { destination: { host: service-b, subset: v1 }, weight: 50 }
        - { destination: { host: service-b, subset: v2 }, weight: 50 }
`;

describe('straitctl', () => {
  it('applies a file and shows the result with get', async () => {
    const file = join(work, 'canary.yaml');
    await writeFile(file, CANARY);
    expect(await straitctl('apply', '-f', file)).toEqual({
      code: 0,
      out: 'virtualservice/service-b configured\n',
      err: '',
    });
    const yaml = await straitctl('get', 'virtualservice', 'service-b', '-o', 'yaml');
    expect(yaml.out).toContain('weight: 50');
    const listed = await straitctl('get', 'destinationrules');
    expect(listed.out).toMatch(/^KIND\s+NAME\s+NAMESPACE\s+DETAIL\n/);
    expect(listed.out).toMatch(
      /DestinationRule\s+service-b\s+default\s+host=service-b.default.svc.cluster.local subsets=v1,v2/,
    );
  });

  it('applies from stdin', async () => {
    let out = '';
    const code = await run(
      ['apply', '-f', '-'],
      {
        out: (t) => (out += t),
        err: () => {},
        stdin: async () =>
          CANARY.replace('weight: 50 }', 'weight: 60 }').replace('weight: 50 }', 'weight: 40 }'),
      },
      { STRAIT_SERVER: server, STRAIT_TOKEN: 'tok' },
    );
    expect({ code, out }).toEqual({ code: 0, out: 'virtualservice/service-b configured\n' });
    expect((await straitctl('get', 'vs', 'service-b', '-o', 'json')).out).toContain('"weight": 60');
    expect((await straitctl('apply', '-f', join(work, 'canary.yaml'))).code).toBe(0);
  });

  it('reports a refused apply with the file, document and field path, exit 1', async () => {
    const file = join(work, 'bad.yaml');
    await writeFile(file, CANARY.replace('subset: v2 }', 'subset: v7 }'));
    const result = await straitctl('apply', '-f', file);
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      `Error: STRAIT_CONFIG_DANGLING_REF: configuration refers to something missing: ${file}: document 1 (VirtualService service-b): spec.http[0].route[1].destination.subset: subset "v7" of host "service-b" is not defined by any DestinationRule\n`,
    );
  });

  it('refuses writes without the token', async () => {
    let err = '';
    const code = await run(
      ['apply', '-f', join(work, 'canary.yaml')],
      { out: () => {}, err: (t) => (err += t), stdin: async () => '' },
      { STRAIT_SERVER: server },
    );
    expect(code).toBe(1);
    expect(err).toContain('401');
  });

  it('shows proxy status and a proxy config', async () => {
    const node = MESH_NODES.find((n) => n.id === 'service-a-v1-1');
    if (!node) throw new Error('no node');
    const proxy = new FakeProxy(server, node, 'tok');
    proxies.push(proxy);
    await proxy.connect();
    const snap = await proxy.waitForSnapshots(1);
    await proxy.ack(snap);
    const status = await straitctl('proxy-status');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^PROXY\s+ROLE\s+WORKLOAD\s+VERSION\s+STATUS\s+PUSH\s+REPLICA\n/);
    expect(status.out).toMatch(
      new RegExp(
        `service-a-v1-1\\s+sidecar\\s+service-a-v1\\s+${snap.version}\\s+SYNCED\\s+\\S+\\s+${plane.replicaId}\n`,
      ),
    );
    // Given several replicas, it asks each and says which did not answer; reads go to one that answers.
    const dead = await freeUrl();
    let err = '';
    let out = '';
    const code = await run(
      ['proxy-status', '--server', `${dead},${server}`],
      { out: (t) => (out += t), err: (t) => (err += t), stdin: async () => '' },
      {},
    );
    expect(code).toBe(0);
    expect(err).toBe(
      `Warning: no answer from ${dead} (ECONNREFUSED); proxies connected to it are not listed.\n`,
    );
    expect(out).toContain('service-a-v1-1');
    const viaSecond = await run(
      ['get', 'vs', 'service-b', '--server', `${dead},${server}`],
      { out: () => {}, err: (t) => (err += t), stdin: async () => '' },
      {},
    );
    expect(viaSecond).toBe(0);
    const routes = await straitctl('proxy-config', 'routes', 'service-a-v1-1');
    expect(routes.out).toMatch(
      /virtualOutbound:15001\s+service-b:80\s+service-b,service-b.default,\S+\s+\/\*\s+service-b.split\s+outbound\|80\|v1\|service-b 50%, outbound\|80\|v2\|service-b 50%/,
    );
    const clusters = await straitctl('proxy-config', 'clusters', 'service-a-v1-1');
    expect(clusters.out).toMatch(/outbound\|80\|\|service-a\s+STATIC\s+ROUND_ROBIN\s+1\s+\/healthz/);
    const endpoints = await straitctl('proxy-config', 'endpoints', 'service-a-v1-1');
    expect(endpoints.out).toMatch(
      /127\.0\.1\.1:15006\s+HEALTHY\s+1\s+outbound\|80\|\|service-a\s+app=service-a,version=v1/,
    );
    const missing = await straitctl('proxy-config', 'routes', 'nobody');
    expect(missing).toMatchObject({
      code: 1,
      err: 'Error: STRAIT_NOT_FOUND: not found: no proxy "nobody"\n',
    });
  });

  it('deletes what a file names', async () => {
    const file = join(work, 'se.yaml');
    await writeFile(
      file,
      'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: extra }\nspec: { hosts: [extra.example], ports: [{ number: 80, name: http }] }\n',
    );
    expect((await straitctl('apply', '-f', file)).out).toBe('serviceentry/extra created\n');
    expect((await straitctl('delete', '-f', file)).out).toBe('serviceentry/extra deleted\n');
    expect((await straitctl('get', 'serviceentry', 'extra')).code).toBe(1);
  });

  it('analyzes files offline and exits 1 with every error', async () => {
    expect(await straitctl('analyze', '-f', MESH_DIR)).toMatchObject({ code: 0 });
    const bad = join(work, 'analyze');
    await cp(MESH_DIR, bad, { recursive: true });
    await writeFile(
      join(bad, 'extra.yaml'),
      CANARY.replace('name: service-b }', 'name: other }').replace('weight: 50 }', 'weight: "50" }'),
    );
    const result = await straitctl('analyze', '-f', bad);
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      `Error [STRAIT_CONFIG_INVALID] ${join(bad, 'extra.yaml')}: document 1 (VirtualService other): spec.http[0].route[0].weight: expected number, received string`,
    );
  });

  it("applies Istio's sample files unchanged (bookinfo's destination-rule-all-mtls, egress-rule-google-apis)", async () => {
    expect(await straitctl('analyze', '-f', SAMPLES_DIR)).toMatchObject({ code: 0 });
    const applied = await straitctl('apply', '-f', SAMPLES_DIR);
    expect(applied.code, applied.err).toBe(0);
    for (const name of [
      'destinationrule/productpage',
      'destinationrule/reviews',
      'destinationrule/ratings',
      'destinationrule/details',
      'serviceentry/googleapis',
      'virtualservice/rewrite-port-for-googleapis',
      'destinationrule/originate-tls-for-googleapis',
    ])
      expect(applied.out).toContain(`${name} created`);
    const vs = await straitctl('get', 'virtualservice', 'rewrite-port-for-googleapis', '-o', 'json');
    expect(JSON.parse(vs.out).spec.http[0].match[0].port).toBe(80);
  });

  it('answers an unreachable server with one sentence and exit 1', async () => {
    const url = await freeUrl();
    const result = await promisify(execFile)(
      process.execPath,
      [MAIN, 'proxy-status', '--server', url],
      {},
    ).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `Error: cannot reach the control plane at ${url} (ECONNREFUSED); is it running? Set --server or STRAIT_SERVER.\n`,
    );
  });
});
