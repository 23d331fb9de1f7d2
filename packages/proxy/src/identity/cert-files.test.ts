// Tests reading a file-mounted mesh certificate: a good directory, and the errors for a missing file, a file
// without a certificate and a leaf without a SPIFFE ID.
import { KeyObject, webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CERT_FILES, readCertDir } from './cert-files.ts';
import { x509 } from './x509.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strait-cert-dir-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A root and a leaf it signed, the leaf naming `uri` (if given) as its one SAN. */
async function rootAndLeaf(uri: string | undefined) {
  const gen = () =>
    webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;
  const [rootKeys, leafKeys] = await Promise.all([gen(), gen()]);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 3_600_000);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test root',
    keys: rootKeys as never,
    signingAlgorithm: EC,
    notBefore,
    notAfter,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    issuer: root.subject,
    subject: '',
    publicKey: leafKeys.publicKey as never,
    signingKey: rootKeys.privateKey as never,
    signingAlgorithm: EC,
    notBefore,
    notAfter,
    extensions: uri ? [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }], true)] : [],
  });
  return {
    root: root.toString('pem'),
    leaf: leaf.toString('pem'),
    key: KeyObject.from(leafKeys.privateKey).export({ format: 'pem', type: 'pkcs8' }) as string,
    notAfter,
  };
}

async function writeDir(files: { root: string; leaf: string; key: string }): Promise<void> {
  await writeFile(join(dir, CERT_FILES.chain), `${files.leaf}\n${files.root}\n`);
  await writeFile(join(dir, CERT_FILES.key), files.key);
  await writeFile(join(dir, CERT_FILES.roots), files.root);
}

describe('readCertDir', () => {
  it('reads the chain (leaf first), key and roots, and takes the SPIFFE ID and expiry from the leaf', async () => {
    const made = await rootAndLeaf('spiffe://cluster.local/ns/default/sa/bench-hop');
    await writeDir(made);
    const credentials = await readCertDir(dir);
    expect(credentials.spiffeId).toBe('spiffe://cluster.local/ns/default/sa/bench-hop');
    expect(credentials.chainPem).toHaveLength(2);
    expect(credentials.chainPem[0]?.trim()).toBe(made.leaf.trim());
    expect(credentials.trustBundle).toHaveLength(1);
    expect(credentials.keyPem).toContain('PRIVATE KEY');
    expect(Math.abs(credentials.expiresAt - made.notAfter.getTime())).toBeLessThan(1000);
  });

  it('names the file that is missing or holds no certificate', async () => {
    await expect(readCertDir(dir)).rejects.toThrow(/cannot read .*(cert-chain|key|root-cert)\.pem/);
    const made = await rootAndLeaf('spiffe://cluster.local/ns/default/sa/x');
    await writeDir({ ...made, root: 'not a certificate' });
    await expect(readCertDir(dir)).rejects.toThrow(/root-cert\.pem holds no PEM certificate/);
  });

  it('refuses a leaf without a SPIFFE ID', async () => {
    await writeDir(await rootAndLeaf(undefined));
    await expect(readCertDir(dir)).rejects.toThrow(/has no SPIFFE URI SAN/);
  });
});
