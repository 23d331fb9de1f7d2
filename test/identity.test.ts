// The control plane as the mesh's CA, across real processes on 127.0.181.0/24: who may join, who may get
// which certificate, that discovery needs a proxy's own certificate (401 without, 403 for another
// identity's node), and that resource writes need the API token. Rotation by real proxies under traffic is
// in mtls-rotation.test.ts.
import { X509Certificate } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyStatusList } from '../packages/api/src/index.ts';
import { makeKeyAndCsr } from '../packages/proxy/src/identity/csr.ts';
import { type Proc, REPO, spawnNode, tokenFiles, waitFor } from './control-plane-support.ts';
import { type HeldCertificate, issuedCertificate } from './support/mesh-certs.ts';

const ADDR = '127.0.181.1';
const API = `http://${ADDR}:15010`;
const CERT_TTL_MS = 4000;
let plane: Proc;
let configDir: string;
let files: { api: string; join: string };
let joinToken: string;

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'strait-identity-'));
  await cp(join(REPO, 'packages/control-plane/src/testdata/mesh'), configDir, { recursive: true });
  files = tokenFiles(configDir);
  plane = spawnNode('control-plane', join(REPO, 'packages/control-plane/src/main.ts'), [
    '--config-dir',
    configDir,
    '--address',
    ADDR,
    '--no-console',
    '--cert-ttl-ms',
    String(CERT_TTL_MS),
    '--log-level',
    'warn',
  ]);
  await waitFor('the control plane', async () => {
    if (plane.child.exitCode !== null) throw new Error(plane.output());
    return (await fetch(`${API}/ready`)).ok;
  });
  joinToken = (await readFile(files.join, 'utf8')).trim();
}, 30_000);

afterAll(async () => {
  await plane?.stop();
  await rm(configDir, { recursive: true, force: true });
});

/** A certificate for `sa` from the control plane, got with the join token as a new proxy does. */
const certificateFor = (sa: string): Promise<HeldCertificate> => issuedCertificate(API, files.join, sa);

/** A POST over TLS to the API port presenting `held` (or no certificate), trusting `trust`. */
function postTls(
  path: string,
  body: unknown,
  trust: string[],
  held?: { key: string; cert: string },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: ADDR,
        port: 15010,
        path,
        method: 'POST',
        agent: false,
        ca: trust,
        ...(held ? { key: held.key, cert: held.cert } : {}),
        checkServerIdentity: (_host, cert) =>
          cert.subjectaltname === 'URI:spiffe://cluster.local/ns/strait-system/sa/control-plane'
            ? undefined
            : new Error(`unexpected control plane identity ${cert.subjectaltname}`),
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
          // A discovery stream stays open: its first line is enough.
          if (res.statusCode === 200 && text.includes('\n')) {
            resolve({ status: 200, text });
            req.destroy();
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const nodeOf = (id: string, service: string) => ({
  node: { id, role: 'sidecar', workload: `${service}-v1`, service, version: 'v1', address: '127.0.181.50' },
});

describe('the mesh CA and its credentials', () => {
  it('writes the root, its key, the join token and the API token at first start, each 0600', async () => {
    for (const f of [
      files.api,
      files.join,
      ...['root-cert.pem', 'root-key.pem'].map((n) => join(configDir, '.strait', 'ca', n)),
    ])
      expect((await stat(f)).mode & 0o777, f).toBe(0o600);
    const root = new X509Certificate(await readFile(join(configDir, '.strait', 'ca', 'root-cert.pem')));
    expect(root.ca).toBe(true);
    expect(root.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('refuses discovery without a certificate: nothing, a wrong token, even the join token (401)', async () => {
    const body = JSON.stringify(nodeOf('evil', 'service-b'));
    for (const authorization of [undefined, 'Bearer nope', `Bearer ${joinToken}`]) {
      const res = await fetch(`${API}/v1/discovery`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body,
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('STRAIT_UNAUTHORIZED');
    }
    const listed = (await (await fetch(`${API}/v1/proxies`)).json()) as ProxyStatusList;
    expect(listed.proxies.map((p) => p.id)).not.toContain('evil');
  });

  it('issues a first certificate only with the join token', async () => {
    const { csrPem } = await makeKeyAndCsr('spiffe://cluster.local/ns/default/sa/service-a');
    for (const headers of [{}, { authorization: 'Bearer nope' }]) {
      const res = await fetch(`${API}/v1/certificates`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ csr: csrPem }),
      });
      expect(res.status).toBe(401);
    }
    const held = await certificateFor('service-a');
    const leaf = new X509Certificate(held.cert);
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/default/sa/service-a');
    expect(leaf.verify(new X509Certificate(held.ca[0] as string).publicKey)).toBe(true);
  });

  it("serves a proxy's own node with its certificate, and refuses another service's node (403)", async () => {
    const held = await certificateFor('service-a');
    const own = await postTls('/v1/discovery', nodeOf('service-a-test-1', 'service-a'), held.ca, held);
    expect(own.status).toBe(200);
    expect(JSON.parse(own.text.split('\n')[0] as string)).toMatchObject({ type: 'delta' });
    const other = await postTls('/v1/discovery', nodeOf('sneaky-1', 'service-b'), held.ca, held);
    expect(other.status).toBe(403);
    expect(other.text).toContain('spiffe://cluster.local/ns/default/sa/service-a');
    const listed = (await (await fetch(`${API}/v1/proxies`)).json()) as ProxyStatusList;
    expect(listed.proxies.map((p) => p.id)).not.toContain('sneaky-1');
  });

  it("renews over TLS only for the certificate's own identity", async () => {
    const held = await certificateFor('service-a');
    const again = await makeKeyAndCsr('spiffe://cluster.local/ns/default/sa/service-a');
    expect((await postTls('/v1/certificates', { csr: again.csrPem }, held.ca, held)).status).toBe(200);
    const other = await makeKeyAndCsr('spiffe://cluster.local/ns/default/sa/service-b');
    expect((await postTls('/v1/certificates', { csr: other.csrPem }, held.ca, held)).status).toBe(403);
  });

  it('refuses a certificate from another root and one that expired (401)', async () => {
    const held = await certificateFor('service-a');
    // Another mesh's CA: a control plane of its own, its own root.
    const otherDir = await mkdtemp(join(tmpdir(), 'strait-identity-other-'));
    const other = spawnNode('other-control-plane', join(REPO, 'packages/control-plane/src/main.ts'), [
      '--config-dir',
      otherDir,
      '--address',
      '127.0.181.2',
      '--no-console',
      '--log-level',
      'warn',
    ]);
    try {
      await waitFor(
        'the other control plane',
        async () => (await fetch('http://127.0.181.2:15010/ready')).ok,
      );
      const otherToken = (await readFile(tokenFiles(otherDir).join, 'utf8')).trim();
      const { keyPem, csrPem } = await makeKeyAndCsr('spiffe://cluster.local/ns/default/sa/service-a');
      const res = await fetch('http://127.0.181.2:15010/v1/certificates', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${otherToken}` },
        body: JSON.stringify({ csr: csrPem }),
      });
      const foreign = (await res.json()) as { certificateChain: string[] };
      const answer = await postTls('/v1/discovery', nodeOf('foreign-1', 'service-a'), held.ca, {
        key: keyPem,
        cert: foreign.certificateChain.join('\n'),
      });
      expect(answer.status).toBe(401);
    } finally {
      await other.stop();
      await rm(otherDir, { recursive: true, force: true });
    }
    // This mesh's certificates live CERT_TTL_MS: wait until this one is past its notAfter.
    const leaf = new X509Certificate(held.cert);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(leaf.validTo) - Date.now()) + 1100));
    expect((await postTls('/v1/discovery', nodeOf('expired-1', 'service-a'), held.ca, held)).status).toBe(
      401,
    );
  }, 30_000);

  it('needs the API token for resource writes; straitctl reads it from STRAIT_TOKEN_FILE', async () => {
    const yaml =
      'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: extra }\nspec:\n  hosts: [extra.example]\n  ports: [{ number: 80, name: http, protocol: HTTP }]\n  resolution: DNS\n';
    const put = await fetch(`${API}/v1/resources`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml' },
      body: yaml,
    });
    expect(put.status).toBe(401);
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        process.execPath,
        [join(REPO, 'packages/cli/src/main.ts'), 'apply', '-f', '-'],
        { env: { ...process.env, STRAIT_SERVER: API, STRAIT_TOKEN_FILE: files.api, STRAIT_TOKEN: '' } },
        (err, stdout, stderr) => (err ? reject(new Error(`${stderr}`)) : resolve(stdout)),
      );
      child.stdin?.end(yaml);
    });
    expect(out).toBe('serviceentry/extra created\n');
  });
});
