// A fresh ECDSA P-256 key and a PKCS#10 request for one SPIFFE ID: the proxy's half of issuance. The key
// stays in this process; only the request (public key, SAN, signature) goes to the control plane.
import { KeyObject, webcrypto } from 'node:crypto';
import { x509 } from './x509.ts';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface KeyAndCsr {
  /** PKCS#8 PEM, for node:tls. */
  keyPem: string;
  csrPem: string;
}

export async function makeKeyAndCsr(spiffeId: string): Promise<KeyAndCsr> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: keys as never,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true)],
  });
  return {
    keyPem: KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' }) as string,
    csrPem: csr.toString('pem'),
  };
}
