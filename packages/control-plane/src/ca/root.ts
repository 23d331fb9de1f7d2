// The mesh's root of trust: an ECDSA P-256 root certificate and key made at first start and kept 0600 in the
// control plane's state folder, or a root and key of the operator's own (PEM files) used instead.
import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPrivate, readWhenWritten, writePrivate } from './secrets.ts';
import { x509 } from './x509.ts';

export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** A made root lasts ten years (Istio's self-signed root does too). */
const ROOT_TTL_MS = 10 * 365 * 24 * 60 * 60 * 1000;

export interface RootCa {
  certificate: x509.X509Certificate;
  pem: string;
  /** The root's private key, for signing only; it never leaves this process. */
  key: webcrypto.CryptoKey;
  /** True when it was made by this start. */
  created: boolean;
}

export interface RootSource {
  /** Where a made root lives: `root-cert.pem` and `root-key.pem`. */
  dir: string;
  trustDomain: string;
  /** The operator's own root (both or neither). */
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** The operator's root, the one made at an earlier start, or a new one. */
export async function loadRoot(source: RootSource): Promise<RootCa> {
  if (source.certFile || source.keyFile) {
    if (!source.certFile || !source.keyFile)
      throw new Error('an operator root needs both its certificate and its key (--ca-cert and --ca-key)');
    return readRoot(source.certFile, source.keyFile);
  }
  const certFile = join(source.dir, 'root-cert.pem');
  const keyFile = join(source.dir, 'root-key.pem');
  try {
    return await readRoot(certFile, keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return makeRoot(certFile, keyFile, source.trustDomain);
}

async function readRoot(certFile: string, keyFile: string): Promise<RootCa> {
  const pem = await readFile(certFile, 'utf8');
  const certificate = new x509.X509Certificate(pem);
  const basic = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca) throw new Error(`${certFile}: the certificate is not a CA (basicConstraints CA:TRUE)`);
  // Node reads SEC1 ("EC PRIVATE KEY") and PKCS#8 alike; WebCrypto wants PKCS#8.
  const der = createPrivateKey(await readFile(keyFile, 'utf8')).export({ format: 'der', type: 'pkcs8' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign']);
  return { certificate, pem: certificate.toString('pem'), key, created: false };
}

async function makeRoot(certFile: string, keyFile: string, trustDomain: string): Promise<RootCa> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `O=${trustDomain}, CN=Strait mesh root`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + ROOT_TTL_MS),
    signingAlgorithm: ECDSA_SHA256,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' });
  if (!(await createPrivate(keyFile, keyPem as string))) {
    // Another replica is making the root: use its, once its certificate is written too.
    await readWhenWritten(certFile);
    return readRoot(certFile, keyFile);
  }
  const pem = certificate.toString('pem');
  await writePrivate(certFile, `${pem}\n`);
  return { certificate, pem, key: keys.privateKey, created: true };
}
