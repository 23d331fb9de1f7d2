// Mesh certificates for the benchmark's mTLS rows: one CA (the control plane's own code, root kept in the
// work directory) issues each bench workload a certificate, written as the proxy's --cert-dir files.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateAuthority } from '../../packages/control-plane/src/ca/authority.ts';
import { loadRoot } from '../../packages/control-plane/src/ca/root.ts';
import { CERT_FILES } from '../../packages/proxy/src/identity/cert-files.ts';
import { makeKeyAndCsr } from '../../packages/proxy/src/identity/csr.ts';

const TRUST_DOMAIN = 'cluster.local';
const NAMESPACE = 'default';
/** Longer than any run: the bench measures steady traffic, not rotation. */
const LIFETIME_MS = 24 * 3_600_000;

/** The SPIFFE ID of a bench workload whose service account is `sa`. */
export const benchSpiffeId = (sa: string): string => `spiffe://${TRUST_DOMAIN}/ns/${NAMESPACE}/sa/${sa}`;

const authorities = new Map<string, Promise<CertificateAuthority>>();
const dirs = new Map<string, Promise<string>>();

function authority(workDir: string): Promise<CertificateAuthority> {
  let ca = authorities.get(workDir);
  if (!ca) {
    ca = loadRoot({ dir: join(workDir, 'mesh-ca'), trustDomain: TRUST_DOMAIN }).then(
      (root) => new CertificateAuthority({ root, trustDomain: TRUST_DOMAIN, ttlMs: LIFETIME_MS }),
    );
    authorities.set(workDir, ca);
  }
  return ca;
}

async function issue(workDir: string, sa: string): Promise<string> {
  const ca = await authority(workDir);
  const { keyPem, csrPem } = await makeKeyAndCsr(benchSpiffeId(sa));
  const issued = await ca.issue(csrPem, {
    trustDomain: TRUST_DOMAIN,
    namespace: NAMESPACE,
    serviceAccount: sa,
  });
  const dir = join(workDir, 'mesh-certs', sa);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, CERT_FILES.chain), issued.certificateChain.join('\n'));
  await writeFile(join(dir, CERT_FILES.key), keyPem, { mode: 0o600 });
  await writeFile(join(dir, CERT_FILES.roots), issued.trustBundle.join('\n'));
  return dir;
}

/** The --cert-dir of service account `sa` (made once per work directory). */
export function certDirFor(workDir: string, sa: string): Promise<string> {
  const key = `${workDir}\n${sa}`;
  let dir = dirs.get(key);
  if (!dir) {
    dir = issue(workDir, sa);
    dirs.set(key, dir);
  }
  return dir;
}
