// The CA on its own: the root is made once (0600) and read back, an operator's root is used instead, and a
// CSR is signed only for the one SPIFFE identity asked for, with the lifetime and extensions Istio's have.
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from './authority.ts';
import { EC_P256, ECDSA_SHA256, loadRoot } from './root.ts';
import { loadOrCreateToken } from './secrets.ts';
import { x509 } from './x509.ts';

/** A CSR as a proxy makes one (the proxy's own code is another package's). */
async function makeKeyAndCsr(uri: string): Promise<{ csrPem: string }> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: keys as never,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], true)],
  });
  return { csrPem: csr.toString('pem') };
}

let dir: string;
const td = 'cluster.local';
const serviceA = { trustDomain: td, namespace: 'default', serviceAccount: 'service-a' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strait-ca-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the root', () => {
  it('is made at first start as an ECDSA P-256 CA kept 0600, and read back unchanged later', async () => {
    const made = await loadRoot({ dir: join(dir, 'ca'), trustDomain: td });
    expect(made.created).toBe(true);
    for (const f of ['root-cert.pem', 'root-key.pem'])
      expect((await stat(join(dir, 'ca', f))).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(made.pem);
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const again = await loadRoot({ dir: join(dir, 'ca'), trustDomain: td });
    expect(again.created).toBe(false);
    expect(again.pem).toBe(made.pem);
  });

  it('is made once when two replicas sharing the folder start together, as are the tokens', async () => {
    const shared = join(dir, 'shared');
    const [a, b] = await Promise.all([
      loadRoot({ dir: shared, trustDomain: td }),
      loadRoot({ dir: shared, trustDomain: td }),
    ]);
    expect(a.pem).toBe(b.pem);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    const [t1, t2] = await Promise.all([
      loadOrCreateToken(join(shared, 'join-token')),
      loadOrCreateToken(join(shared, 'join-token')),
    ]);
    expect(t1.token).toBe(t2.token);
    expect(t1.token).toMatch(/^[\w-]{43}$/);
  });

  it("uses the operator's own root and key instead, and refuses half of one", async () => {
    const other = await loadRoot({ dir: join(dir, 'operator'), trustDomain: td });
    const certFile = join(dir, 'operator', 'root-cert.pem');
    const keyFile = join(dir, 'operator', 'root-key.pem');
    const used = await loadRoot({ dir: join(dir, 'unused'), trustDomain: td, certFile, keyFile });
    expect(used.pem).toBe(other.pem);
    await expect(loadRoot({ dir: join(dir, 'unused'), trustDomain: td, certFile })).rejects.toThrow(
      /both its certificate and its key/,
    );
    const leafOnly = join(dir, 'not-a-ca.pem');
    const ca = new CertificateAuthority({ root: used, trustDomain: td, ttlMs: 60_000 });
    const { csrPem } = await makeKeyAndCsr('spiffe://cluster.local/ns/default/sa/service-a');
    await writeFile(leafOnly, (await ca.issue(csrPem, serviceA)).certificateChain[0] as string);
    await expect(loadRoot({ dir, trustDomain: td, certFile: leafOnly, keyFile })).rejects.toThrow(/not a CA/);
  });
});

describe('issuing', () => {
  let ca: CertificateAuthority;
  let rootPem: string;
  beforeAll(async () => {
    const root = await loadRoot({ dir: join(dir, 'ca'), trustDomain: td });
    rootPem = root.pem;
    ca = new CertificateAuthority({ root, trustDomain: td, ttlMs: 24 * 3600_000 });
  });

  it('signs a CSR for exactly its SPIFFE ID: one URI SAN, 24 h, client and server auth, chained to the root', async () => {
    const { csrPem } = await makeKeyAndCsr('spiffe://cluster.local/ns/default/sa/service-a');
    const answer = await ca.issue(csrPem, serviceA);
    expect(answer.trustBundle).toEqual([rootPem]);
    const leaf = new X509Certificate(answer.certificateChain[0] as string);
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/default/sa/service-a');
    expect(leaf.ca).toBe(false);
    expect(leaf.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(leaf.verify(new X509Certificate(rootPem).publicKey)).toBe(true);
    const life = Date.parse(leaf.validTo) - Date.now();
    expect(life).toBeGreaterThan(23.9 * 3600_000);
    expect(life).toBeLessThanOrEqual(24 * 3600_000);
    expect(answer.expiresAt).toBeCloseTo(Date.parse(leaf.validTo), -4);
  });

  it('refuses a CSR for another identity than the caller may hold (403)', async () => {
    const { csrPem } = await makeKeyAndCsr('spiffe://cluster.local/ns/default/sa/service-b');
    await expect(ca.issue(csrPem, serviceA)).rejects.toMatchObject({ code: 'STRAIT_FORBIDDEN' });
  });

  it('refuses a CSR of another trust domain, without a SPIFFE SAN, or not PEM (400)', async () => {
    const foreign = await makeKeyAndCsr('spiffe://evil.example/ns/default/sa/service-a');
    expect(() => ca.requestedIdentity(foreign.csrPem)).toThrow(/trust domain "evil.example"/);
    const dns = await makeKeyAndCsr('https://service-a.example/');
    expect(() => ca.requestedIdentity(dns.csrPem)).toThrow(/exactly one SPIFFE URI SAN/);
    await expect(ca.issue('not a csr', serviceA)).rejects.toMatchObject({ code: 'STRAIT_CSR_INVALID' });
  });

  it('refuses a CSR whose signature does not verify (the caller does not hold the key)', async () => {
    const { csrPem } = await makeKeyAndCsr('spiffe://cluster.local/ns/default/sa/service-a');
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5] = (der[der.length - 5] as number) ^ 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(ca.issue(tampered, serviceA)).rejects.toMatchObject({ code: 'STRAIT_CSR_INVALID' });
  });

  it('never issues past the root', async () => {
    const root = await loadRoot({ dir: join(dir, 'ca'), trustDomain: td });
    const long = new CertificateAuthority({ root, trustDomain: td, ttlMs: 100 * 365 * 24 * 3600_000 });
    const { csrPem } = await makeKeyAndCsr('spiffe://cluster.local/ns/default/sa/service-a');
    const answer = await long.issue(csrPem, serviceA);
    expect(answer.expiresAt).toBe(root.certificate.notAfter.getTime());
    expect(await readFile(join(dir, 'ca', 'root-cert.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
  });
});
