// Tests the admin /certs description of mesh credentials: the leaf's SPIFFE SAN, serial and validity, the trust
// bundle as ROOTCA, an expired certificate marked invalid, and no private key anywhere in the answer.
import { KeyObject, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MeshCredentials } from '../identity/credentials.ts';
import { x509 } from '../identity/x509.ts';
import { certificatesOf } from './certs.ts';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SPIFFE = 'spiffe://cluster.local/ns/default/sa/service-b';

async function selfSigned(name: string, notBefore: Date, notAfter: Date, uri?: string) {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a1b2c',
    name: `CN=${name}`,
    notBefore,
    notAfter,
    keys: keys as never,
    signingAlgorithm: ALG,
    extensions: uri ? [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: uri }])] : [],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' }) as string;
  return { pem: cert.toString('pem'), keyPem };
}

const HOUR = 3_600_000;

describe('certificatesOf', () => {
  it('answers no secrets for a proxy without a mesh identity', () => {
    expect(certificatesOf(undefined)).toEqual({ secrets: [] });
  });

  it('describes the chain and the trust bundle, with no private key', async () => {
    const now = Date.now();
    const leaf = await selfSigned('leaf', new Date(now - HOUR), new Date(now + 25 * HOUR), SPIFFE);
    const root = await selfSigned('root', new Date(now - HOUR), new Date(now + 400 * 24 * HOUR + HOUR));
    const credentials: MeshCredentials = {
      keyPem: leaf.keyPem,
      chainPem: [leaf.pem],
      trustBundle: [root.pem],
      spiffeId: SPIFFE,
      issuedAt: now - HOUR,
      expiresAt: now + 24 * HOUR,
      generation: 3,
    };
    const answer = certificatesOf(credentials, now);
    expect(answer.spiffeId).toBe(SPIFFE);
    expect(answer.generation).toBe(3);
    expect(answer.secrets.map((s) => [s.name, s.type, s.state])).toEqual([
      ['default', 'Cert Chain', 'ACTIVE'],
      ['ROOTCA', 'CA', 'ACTIVE'],
    ]);
    const [chain, bundle] = answer.secrets;
    expect(chain?.certificates[0]).toMatchObject({
      serialNumber: '0a1b2c',
      subject: 'CN=leaf',
      uriSans: [SPIFFE],
      valid: true,
      daysUntilExpiration: 1,
    });
    expect(Date.parse(chain?.certificates[0]?.notAfter ?? '')).toBeGreaterThan(now);
    expect(bundle?.certificates[0]).toMatchObject({
      subject: 'CN=root',
      uriSans: [],
      daysUntilExpiration: 400,
    });
    const text = JSON.stringify(answer);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).toContain('BEGIN CERTIFICATE');
  });

  it('marks an expired certificate invalid with a negative day count', async () => {
    const now = Date.now();
    const old = await selfSigned('old', new Date(now - 48 * HOUR), new Date(now - 24 * HOUR - 1000), SPIFFE);
    const [chain] = certificatesOf(
      {
        keyPem: old.keyPem,
        chainPem: [old.pem],
        trustBundle: [old.pem],
        spiffeId: SPIFFE,
        issuedAt: now - 48 * HOUR,
        expiresAt: now - 24 * HOUR,
        generation: 1,
      },
      now,
    ).secrets;
    expect(chain?.certificates[0]?.valid).toBe(false);
    expect(chain?.certificates[0]?.daysUntilExpiration).toBe(-2);
  });
});
