// The mesh's certificate authority (istiod's CA): signs a proxy's CSR for exactly the SPIFFE identity its
// credential allows, with one URI SAN and a short lifetime, and hands back the chain and the trust bundle.
// The proxy's key never comes here: only its CSR, whose signature proves the proxy holds the key.
import { randomBytes, type webcrypto } from 'node:crypto';
import {
  type CertificateResponse,
  Errors,
  parseSpiffeId,
  StraitError,
  spiffeId,
  type WorkloadIdentity,
} from '@strait/api';
import { ECDSA_SHA256, type RootCa } from './root.ts';
import { x509 } from './x509.ts';

export interface AuthorityCounters {
  /** A CSR arrived (citadel_server_csr_count). */
  csr(): void;
  /** A certificate was issued (citadel_server_success_cert_issuance_count). */
  issued(): void;
}

export interface AuthorityOptions {
  root: RootCa;
  trustDomain: string;
  /** Workload certificates' lifetime. */
  ttlMs: number;
  counters?: AuthorityCounters;
}

const SUBJECT_ALT_NAME = '2.5.29.17';
/** Clock skew a new certificate allows for (its notBefore is this far in the past). */
const SKEW_MS = 60_000;

export class CertificateAuthority {
  readonly #o: AuthorityOptions;

  constructor(options: AuthorityOptions) {
    this.#o = options;
  }

  get trustDomain(): string {
    return this.#o.trustDomain;
  }

  /** The roots a workload trusts, PEM. */
  get trustBundle(): string[] {
    return [this.#o.root.pem];
  }

  /** When the root expires (citadel_server_root_cert_expiry_timestamp), ms since the epoch. */
  get rootExpiresAt(): number {
    return this.#o.root.certificate.notAfter.getTime();
  }

  /** The identity the CSR asks for (its one SPIFFE URI SAN); a 400 when it asks for none or several. */
  requestedIdentity(csrPem: string): WorkloadIdentity {
    const csr = parseCsr(csrPem);
    const uris = sanUris(csr.getExtension(SUBJECT_ALT_NAME));
    const only = uris.length === 1 ? parseSpiffeId(uris[0] as string) : undefined;
    if (!only)
      throw new StraitError(
        Errors.CSR_INVALID,
        `the CSR must carry exactly one SPIFFE URI SAN (spiffe://<trust-domain>/ns/<ns>/sa/<sa>), found ${uris.length === 0 ? 'none' : uris.join(', ')}`,
      );
    if (only.trustDomain !== this.#o.trustDomain)
      throw new StraitError(
        Errors.CSR_INVALID,
        `the CSR asks for trust domain "${only.trustDomain}"; this mesh's is "${this.#o.trustDomain}"`,
      );
    return only;
  }

  /**
   * Signs the CSR for `identity` (which the caller's credential was checked to allow). The CSR's own
   * signature must verify, and it must ask for that identity and nothing else.
   */
  async issue(
    csrPem: string,
    identity: WorkloadIdentity,
    ttlMs = this.#o.ttlMs,
  ): Promise<CertificateResponse> {
    this.#o.counters?.csr();
    const asked = this.requestedIdentity(csrPem);
    const want = spiffeId(identity);
    if (spiffeId(asked) !== want)
      throw new StraitError(
        Errors.FORBIDDEN,
        `the CSR asks for ${spiffeId(asked)}; the caller may only hold ${want}`,
      );
    const csr = parseCsr(csrPem);
    if (!(await csr.verify()))
      throw new StraitError(Errors.CSR_INVALID, "the CSR's signature does not verify");
    const answer = await this.sign(csr.publicKey, identity, ttlMs);
    this.#o.counters?.issued();
    return answer;
  }

  /** A certificate for `identity` on `publicKey` (the control plane's own serving certificate comes from here). */
  async sign(
    publicKey: x509.PublicKey | webcrypto.CryptoKey,
    identity: WorkloadIdentity,
    ttlMs = this.#o.ttlMs,
  ): Promise<CertificateResponse> {
    const root = this.#o.root;
    const now = Date.now();
    const notAfter = Math.min(now + ttlMs, root.certificate.notAfter.getTime());
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: randomBytes(16)
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      // Istio's workload certificates have an empty subject: the identity is the SAN (critical, so).
      subject: '',
      issuer: root.certificate.subject,
      notBefore: new Date(now - SKEW_MS),
      notAfter: new Date(notAfter),
      signingAlgorithm: ECDSA_SHA256,
      publicKey: publicKey as x509.PublicKey,
      signingKey: root.key as never,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId(identity) }], true),
        await x509.AuthorityKeyIdentifierExtension.create(root.certificate),
      ],
    });
    return { certificateChain: [leaf.toString('pem')], trustBundle: this.trustBundle, expiresAt: notAfter };
  }
}

function parseCsr(pem: string): x509.Pkcs10CertificateRequest {
  try {
    return new x509.Pkcs10CertificateRequest(pem);
  } catch (err) {
    throw new StraitError(
      Errors.CSR_INVALID,
      `the CSR is not a PEM PKCS#10 request: ${(err as Error).message}`,
    );
  }
}

function sanUris(ext: x509.Extension | null): string[] {
  if (!ext) return [];
  return new x509.SubjectAlternativeNameExtension(ext.rawData).names.items
    .filter((n) => n.type === 'url')
    .map((n) => n.value);
}
