// A mesh certificate from files, as Istio's file-mounted certificates: `cert-chain.pem` (leaf first),
// `key.pem` and `root-cert.pem` in one directory, for a proxy set up without a CA to ask (static
// bootstraps, benchmarks). Read once; a new certificate means a restart.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type MeshCredentials, uriSans } from './credentials.ts';

export const CERT_FILES = { chain: 'cert-chain.pem', key: 'key.pem', roots: 'root-cert.pem' } as const;

/** Every PEM certificate block in `text`, in order. */
function certificateBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Reads and checks the three files; the error names the file and what is wrong with it. */
export async function readCertDir(dir: string): Promise<MeshCredentials> {
  const read = async (name: string): Promise<string> => {
    try {
      return await readFile(join(dir, name), 'utf8');
    } catch (err) {
      throw new Error(`--cert-dir: cannot read ${join(dir, name)}: ${(err as Error).message}`);
    }
  };
  const [chainText, keyPem, rootsText] = await Promise.all([
    read(CERT_FILES.chain),
    read(CERT_FILES.key),
    read(CERT_FILES.roots),
  ]);
  const chainPem = certificateBlocks(chainText);
  const trustBundle = certificateBlocks(rootsText);
  if (chainPem.length === 0)
    throw new Error(`--cert-dir: ${join(dir, CERT_FILES.chain)} holds no PEM certificate`);
  if (trustBundle.length === 0)
    throw new Error(`--cert-dir: ${join(dir, CERT_FILES.roots)} holds no PEM certificate`);
  const leaf = new X509Certificate(chainPem[0] as string);
  const spiffeId = uriSans(leaf.subjectAltName ?? '')[0];
  if (!spiffeId?.startsWith('spiffe://'))
    throw new Error(`--cert-dir: the leaf in ${join(dir, CERT_FILES.chain)} has no SPIFFE URI SAN`);
  return {
    keyPem,
    chainPem,
    trustBundle,
    spiffeId,
    issuedAt: Date.parse(leaf.validFrom),
    expiresAt: Date.parse(leaf.validTo),
    generation: 1,
  };
}
