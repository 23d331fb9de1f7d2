// The control plane's identity side assembled: the root (made or the operator's), the CA, the join token
// that admits a proxy's first CSR, and the control plane's own serving certificate.
import { join } from 'node:path';
import { DEFAULT_CERT_TTL_MS, DEFAULT_TRUST_DOMAIN } from '@strait/api';
import type { Logger } from 'pino';
import { type AuthorityCounters, CertificateAuthority } from './authority.ts';
import { loadRoot } from './root.ts';
import { loadOrCreateToken } from './secrets.ts';
import { ServingCertificate } from './serving.ts';

export interface MeshIdentityOptions {
  /** Where a made root and the join token live (mode 0700/0600). */
  stateDir: string;
  trustDomain?: string;
  certTtlMs?: number;
  /** The operator's own root, PEM (both or neither). */
  caCertFile?: string | undefined;
  caKeyFile?: string | undefined;
  /** The join token itself; absent: read from (or made in) `joinTokenFile`. */
  joinToken?: string | undefined;
  /** Default `<stateDir>/join-token`. */
  joinTokenFile?: string | undefined;
}

export interface MeshIdentity {
  ca: CertificateAuthority;
  serving: ServingCertificate;
  joinToken: string;
  joinTokenFile: string | undefined;
}

export async function startMeshIdentity(
  options: MeshIdentityOptions,
  counters: AuthorityCounters,
  logger: Logger,
): Promise<MeshIdentity> {
  const trustDomain = options.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const root = await loadRoot({
    dir: join(options.stateDir, 'ca'),
    trustDomain,
    certFile: options.caCertFile,
    keyFile: options.caKeyFile,
  });
  if (root.created) logger.info({ dir: join(options.stateDir, 'ca') }, 'made a new mesh root (ECDSA P-256)');
  const ca = new CertificateAuthority({
    root,
    trustDomain,
    ttlMs: options.certTtlMs ?? DEFAULT_CERT_TTL_MS,
    counters,
  });
  let joinToken = options.joinToken;
  let joinTokenFile: string | undefined;
  if (!joinToken) {
    joinTokenFile = options.joinTokenFile ?? join(options.stateDir, 'join-token');
    const loaded = await loadOrCreateToken(joinTokenFile);
    joinToken = loaded.token;
    if (loaded.created) logger.info({ file: joinTokenFile }, 'wrote the mesh join token');
  }
  const serving = new ServingCertificate(ca, logger);
  await serving.start();
  return { ca, serving, joinToken, joinTokenFile };
}
