// What a proxy's mesh identity is at one moment: its key, certificate chain and trust bundle, and the TLS
// options that present them and check a peer's SPIFFE ID.
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface MeshCredentials {
  keyPem: string;
  /** Leaf first. */
  chainPem: string[];
  trustBundle: string[];
  spiffeId: string;
  /** ms since the epoch. */
  issuedAt: number;
  expiresAt: number;
  /** Counts up with each certificate this process gets (a cheap "has it changed"). */
  generation: number;
}

/** What a proxy presents, in short: its leaf's serial (hex), expiry and generation. */
export interface CertificateSummary {
  serial: string;
  expiresAt: number;
  generation: number;
}

export function summarise(credentials: MeshCredentials): CertificateSummary {
  const leaf = new X509Certificate(credentials.chainPem[0] ?? '');
  return { serial: leaf.serialNumber, expiresAt: credentials.expiresAt, generation: credentials.generation };
}

/** The URI SANs of a peer certificate. */
export function peerSpiffeIds(cert: PeerCertificate | undefined): string[] {
  return uriSans(cert?.subjectaltname);
}

/** The URIs of a subject-alt-name text as Node writes it (`URI:spiffe://…, DNS:x`). */
export function uriSans(san: string | undefined): string[] {
  return (san ?? '')
    .split(', ')
    .filter((n) => n.startsWith('URI:'))
    .map((n) => n.slice(4));
}

/** The SPIFFE ID of a peer whose certificate verified against the mesh's roots, or ''. */
export function verifiedPrincipal(socket: TLSSocket): string {
  return socket.authorized ? (peerSpiffeIds(socket.getPeerCertificate())[0] ?? '') : '';
}

/**
 * A `checkServerIdentity` that accepts a server whose certificate holds `expected` as its SPIFFE ID, the
 * way Envoy checks `match_subject_alt_names` instead of the host name (mesh peers are named by identity).
 */
export function expectSpiffeId(
  expected: string | readonly string[],
): (host: string, cert: PeerCertificate) => Error | undefined {
  const wanted = typeof expected === 'string' ? [expected] : expected;
  return (_host, cert) => {
    const ids = peerSpiffeIds(cert);
    if (ids.some((id) => wanted.includes(id))) return undefined;
    return new Error(
      `peer identity ${ids.join(', ') || '(none)'} is not the expected ${wanted.join(' or ')}`,
    );
  };
}
