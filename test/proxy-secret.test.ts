// straitctl proxy-config secret against a real mesh with certificates (control plane, gateways, sidecars on
// 127.0.191.1-.51): the chain and trust bundle a sidecar reports are the very certificate it presents on its
// inbound port and the mesh's root, as a table and as JSON, and no private key ever leaves the proxy.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyCertificates } from '../packages/api/src/index.ts';
import { get, type Mesh, startMesh } from './control-plane-support.ts';

let mesh: Mesh;

beforeAll(async () => {
  mesh = await startMesh(0, { block: '127.0.191' });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
});

/** The certificate service-b's sidecar presents to a TLS client on its inbound port. */
function presentedCertificate(address: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address, port: 15006, rejectUnauthorized: false, servername: '' });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('straitctl proxy-config secret', () => {
  it("prints the sidecar's chain (its SPIFFE ID) and the mesh root, both ACTIVE", async () => {
    const { code, stdout, stderr } = await mesh.straitctl('proxy-config', 'secret', 'service-b-v1-1');
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^RESOURCE NAME\s+TYPE\s+STATUS\s+VALID CERT\s+SERIAL NUMBER\s+NOT AFTER\s+NOT BEFORE/,
    );
    expect(lines[1]).toMatch(
      /^default\s+Cert Chain\s+ACTIVE\s+true\s+[0-9a-f]+\s+\S+Z\s+\S+Z\s+spiffe:\/\/cluster\.local\/ns\/default\/sa\/service-b$/,
    );
    expect(lines[2]).toMatch(/^ROOTCA\s+CA\s+ACTIVE\s+true\s+[0-9a-f]+\s/);
  });

  it('-o json: the serial the sidecar presents on its inbound port, the 24 h lifetime, the root it trusts', async () => {
    const { code, stdout, stderr } = await mesh.straitctl('pc', 'secret', 'service-b-v1-1', '-o', 'json');
    expect(code, stderr).toBe(0);
    expect(stdout).not.toContain('PRIVATE KEY');
    const answer = JSON.parse(stdout) as ProxyCertificates;
    expect(answer.spiffeId).toBe('spiffe://cluster.local/ns/default/sa/service-b');
    const [chain, roots] = answer.secrets;
    const leaf = chain?.certificates[0];
    const presented = await presentedCertificate(mesh.layout.serviceB1);
    expect(leaf?.serialNumber).toBe(presented.serialNumber.toLowerCase());
    expect(leaf?.uriSans).toEqual(['spiffe://cluster.local/ns/default/sa/service-b']);
    const life = Date.parse(leaf?.notAfter ?? '') - Date.parse(leaf?.notBefore ?? '');
    expect(life).toBeGreaterThan(23 * 3_600_000);
    expect(life).toBeLessThanOrEqual(25 * 3_600_000);
    expect(leaf?.daysUntilExpiration).toBe(0);
    const root = new X509Certificate(
      await readFile(join(mesh.configDir, '.strait', 'ca', 'root-cert.pem'), 'utf8'),
    );
    expect(roots?.name).toBe('ROOTCA');
    expect(roots?.certificates.map((c) => c.serialNumber)).toEqual([root.serialNumber.toLowerCase()]);
    expect(roots?.certificates[0]?.pem.trim()).toBe(root.toString().trim());
  });

  it("the proxy's admin /certs holds no private key material", async () => {
    const status = (await mesh.statuses()).find((p) => p.id === 'istio-ingressgateway-1');
    expect(status?.adminAddress).toBeTruthy();
    const res = await get(`http://${status?.adminAddress}/certs`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('BEGIN CERTIFICATE');
    expect(res.text).not.toMatch(/PRIVATE KEY|keyPem/);
    expect((JSON.parse(res.text) as ProxyCertificates).spiffeId).toMatch(
      /^spiffe:\/\/cluster\.local\/ns\/[a-z-]+\/sa\/istio-ingressgateway$/,
    );
  });

  it('names the proxies it knows when the id is wrong', async () => {
    const { code, stderr } = await mesh.straitctl('pc', 'secret', 'service-b-v9-1');
    expect(code).toBe(1);
    expect(stderr).toContain('no proxy "service-b-v9-1"');
    expect(stderr).toContain('Did you mean');
  });
});
