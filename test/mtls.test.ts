// Mutual TLS on the mesh's hops across real processes (control plane, ingress, sidecars, apps on
// 127.0.104.200+): traffic ingress -> service-a -> service-b goes over mTLS, the destination reports it
// with both principals, a sidecar's inbound refuses TLS clients without a mesh certificate (self-made,
// another root's, expired), and a forged peer header does not make a caller service-a over mTLS.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePeer } from '../packages/api/src/index.ts';
import { CertificateAuthority } from '../packages/control-plane/src/ca/authority.ts';
import { loadRoot } from '../packages/control-plane/src/ca/root.ts';
import { makeKeyAndCsr } from '../packages/proxy/src/identity/csr.ts';
import { get, type Mesh, startMesh } from './control-plane-support.ts';
import {
  type ClientCert,
  changeResources,
  inboundRequest,
  meshCertificate,
  meshRoot,
} from './support/mesh-client.ts';

let mesh: Mesh;
let scratch: string;

beforeAll(async () => {
  mesh = await startMesh(200);
  scratch = await mkdtemp(join(tmpdir(), 'strait-mtls-'));
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** A certificate for `sa` signed by the CA whose root lives in `dir` (made there if missing), living `ttlMs`. */
async function certFrom(dir: string, sa: string, ttlMs: number): Promise<ClientCert & { root: string }> {
  const root = await loadRoot({ dir, trustDomain: 'cluster.local' });
  const ca = new CertificateAuthority({ root, trustDomain: 'cluster.local', ttlMs });
  const { keyPem, csrPem } = await makeKeyAndCsr(`spiffe://cluster.local/ns/default/sa/${sa}`);
  const issued = await ca.issue(csrPem, {
    trustDomain: 'cluster.local',
    namespace: 'default',
    serviceAccount: sa,
  });
  return { key: keyPem, cert: issued.certificateChain.join('\n'), root: root.pem };
}

/** A GET over TLS to `address:15006` presenting `client`; resolves with the status or rejects on a refusal. */
function tlsGet(
  address: string,
  client: ClientCert | undefined,
  trust: string,
  headers: Record<string, string> = {},
) {
  return inboundRequest(address, { client, trust, headers });
}

describe('mutual TLS between proxies', () => {
  it('carries ingress -> service-a -> service-b over mTLS, reported with both principals', async () => {
    for (let i = 0; i < 5; i++) expect((await mesh.front()).status).toBe(200);
    const b = mesh.layout.serviceB1;
    const stats = (await get(`http://${b}:15090/stats/prometheus`)).text;
    const line = stats
      .split('\n')
      .find(
        (l) =>
          l.startsWith('istio_requests_total{') &&
          l.includes('reporter="destination"') &&
          l.includes('source_workload="service-a-v1"'),
      );
    expect(line, stats.slice(0, 3000)).toBeDefined();
    expect(line).toContain('connection_security_policy="mutual_tls"');
    expect(line).toContain('source_principal="spiffe://cluster.local/ns/default/sa/service-a"');
    expect(line).toContain('destination_principal="spiffe://cluster.local/ns/default/sa/service-b"');
    // And the client side names the identity it checked.
    const a = (await get(`http://${mesh.layout.serviceA}:15090/stats/prometheus`)).text;
    expect(a).toMatch(
      /istio_requests_total\{[^}]*reporter="source"[^}]*destination_principal="spiffe:\/\/cluster\.local\/ns\/default\/sa\/service-b"/,
    );
  });

  it('serves a client holding a mesh certificate, and takes its identity from the certificate', async () => {
    const caller = await meshCertificate(mesh, 'service-c');
    // It claims to be service-a in the peer header; its certificate says service-c.
    const forged = encodePeer({
      workload: 'service-a-v1',
      namespace: 'default',
      app: 'service-a',
      version: 'v1',
    });
    const answer = await tlsGet(mesh.layout.serviceB1, caller, await meshRoot(mesh), {
      'x-strait-peer': forged,
    });
    expect(answer.status).toBe(200);
    const stats = (await get(`http://${mesh.layout.serviceB1}:15090/stats/prometheus`)).text;
    const line = stats
      .split('\n')
      .find((l) => l.startsWith('istio_requests_total{') && l.includes('sa/service-c"'));
    expect(line, 'a series for the service-c caller').toBeDefined();
    expect(line).toContain('source_workload="unknown"');
    expect(line).toContain('connection_security_policy="mutual_tls"');
  });

  it('refuses TLS clients without a mesh certificate: none, self-made, from another root, expired', async () => {
    const trust = await meshRoot(mesh);
    const b = mesh.layout.serviceB1;
    await expect(tlsGet(b, undefined, trust)).rejects.toThrow();
    const other = await certFrom(join(scratch, 'other-root'), 'service-a', 60_000);
    await expect(tlsGet(b, other, trust)).rejects.toThrow();
    // Self-made: the other root's own certificate and key, presented as a client certificate.
    const selfMade = {
      key: await readFile(join(scratch, 'other-root', 'root-key.pem'), 'utf8'),
      cert: other.root,
    };
    await expect(tlsGet(b, selfMade, trust)).rejects.toThrow();
    // The right SPIFFE ID from the mesh's own root, but expired half a minute ago.
    const expired = await certFrom(join(mesh.configDir, '.strait', 'ca'), 'service-a', -30_000);
    expect(Date.parse(new X509Certificate(expired.cert).validTo)).toBeLessThan(Date.now());
    await expect(tlsGet(b, expired, trust)).rejects.toThrow();
  });

  it('PeerAuthentication: mesh-wide STRICT refuses plain text; a workload port DISABLEd takes it, and clients send it plain', async () => {
    const apply = (yaml: string) => changeResources(mesh, yaml);
    const b = mesh.layout.serviceB1;
    const plain = () => get(`http://${b}:15006/`, {}, 3000);
    expect((await plain()).status).toBe(200);
    await apply(
      'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec: { mtls: { mode: STRICT } }\n',
    );
    await expect(plain()).rejects.toThrow();
    for (let i = 0; i < 5; i++) expect((await mesh.front()).status).toBe(200);
    await apply(
      "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: service-b, namespace: default }\nspec:\n  selector: { matchLabels: { app: service-b } }\n  portLevelMtls: { '8080': { mode: DISABLE } }\n",
    );
    expect((await plain()).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await mesh.front()).status).toBe(200);
    const stats = (await get(`http://${b}:15090/stats/prometheus`)).text;
    expect(stats).toMatch(
      /istio_requests_total\{[^}]*reporter="destination"[^}]*source_workload="service-a-v1"[^}]*connection_security_policy="none"/,
    );
  }, 60_000);
});
