// The admin /certs answer: the proxy's mesh certificate chain and trust bundle described field by field (serial,
// SPIFFE URI SAN, validity), the way Envoy's admin /certs does. Only public material: never the private key.
import { X509Certificate } from 'node:crypto';
import type { CertificateDetails, ProxyCertificates } from '@strait/api';
import { type MeshCredentials, uriSans } from '../identity/credentials.ts';
import { meshTls } from '../identity/mesh-tls.ts';

const DAY_MS = 86_400_000;

/** The certificates of this process's own mesh identity (what its listeners and pools present now). */
export function meshCertificates(): ProxyCertificates {
  return certificatesOf(meshTls.credentials);
}

/** Describes `credentials` (undefined when the proxy has no mesh identity) as of `now`. */
export function certificatesOf(
  credentials: MeshCredentials | undefined,
  now: number = Date.now(),
): ProxyCertificates {
  if (!credentials) return { secrets: [] };
  return {
    spiffeId: credentials.spiffeId,
    issuedAt: credentials.issuedAt,
    generation: credentials.generation,
    secrets: [
      {
        name: 'default',
        type: 'Cert Chain',
        state: 'ACTIVE',
        certificates: credentials.chainPem.map((pem) => describeCertificate(pem, now)),
      },
      {
        name: 'ROOTCA',
        type: 'CA',
        state: 'ACTIVE',
        certificates: credentials.trustBundle.map((pem) => describeCertificate(pem, now)),
      },
    ],
  };
}

export function describeCertificate(pem: string, now: number): CertificateDetails {
  const cert = new X509Certificate(pem);
  const notBefore = cert.validFromDate.getTime();
  const notAfter = cert.validToDate.getTime();
  return {
    serialNumber: cert.serialNumber.toLowerCase(),
    // A workload certificate's subject is empty: its name is the SAN.
    subject: (cert.subject ?? '').replaceAll('\n', ', '),
    issuer: (cert.issuer ?? '').replaceAll('\n', ', '),
    uriSans: uriSans(cert.subjectAltName),
    notBefore: new Date(notBefore).toISOString(),
    notAfter: new Date(notAfter).toISOString(),
    daysUntilExpiration: Math.floor((notAfter - now) / DAY_MS),
    valid: now >= notBefore && now <= notAfter,
    pem: cert.toString(),
  };
}
