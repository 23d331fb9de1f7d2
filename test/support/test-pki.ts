// A throw-away CA for tests of TLS toward hosts outside the mesh: a root, and server certificates it signs for
// DNS names (made with @peculiar/x509, the mesh CA's library), as PEM for node:tls.
import { KeyObject, webcrypto } from 'node:crypto';
import { x509 } from '../../packages/control-plane/src/ca/x509.ts';

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface TestRoot {
  name: string;
  pem: string;
  certificate: x509.X509Certificate;
  key: webcrypto.CryptoKey;
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

export async function makeTestRoot(name: string): Promise<TestRoot> {
  const keys = await keyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY_MS),
    signingAlgorithm: ECDSA,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  return { name, pem: certificate.toString('pem'), certificate, key: keys.privateKey };
}

/** A server certificate for `dnsName`, signed by `root`: `{ cert, key }` for tls.createServer. */
export async function issueServerCertificate(
  root: TestRoot,
  dnsName: string,
): Promise<{ cert: string; key: string }> {
  const keys = await keyPair();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: Date.now().toString(16),
    subject: `CN=${dnsName}`,
    issuer: root.certificate.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + DAY_MS),
    signingAlgorithm: ECDSA,
    publicKey: keys.publicKey as never,
    signingKey: root.key as never,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: dnsName }]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const key = KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' }) as string;
  return { cert: certificate.toString('pem'), key };
}
