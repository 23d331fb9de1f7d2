// Workload identity (DESIGN §6a): SPIFFE IDs as Istio writes them, which identity a proxy may hold, and the
// certificate request a proxy sends the control plane's CA (Istio's CreateCertificate) and its answer.
import { z } from 'zod';
import type { NodeInfo } from './snapshot.ts';

/** The trust domain when none is configured (Istio's default). */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
/** A workload certificate's lifetime when none is configured (Istio's default). */
export const DEFAULT_CERT_TTL_MS = 24 * 60 * 60 * 1000;
/** The namespace and service account of the control plane's own identity (istiod's is istio-system/istiod). */
export const CONTROL_PLANE_IDENTITY = {
  namespace: 'strait-system',
  serviceAccount: 'control-plane',
} as const;

/** Istio's label on endpoints that have a sidecar: auto mTLS sends mutual TLS only to those. */
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

/** Who a workload is: Istio's namespace and service account. */
export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`. */
export function spiffeId(id: WorkloadIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

const SPIFFE = /^spiffe:\/\/([a-z0-9._-]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** The identity a SPIFFE ID names, or undefined when it is not one of Istio's form. */
export function parseSpiffeId(uri: string): WorkloadIdentity | undefined {
  const m = SPIFFE.exec(uri);
  if (!m) return undefined;
  return { trustDomain: m[1] as string, namespace: m[2] as string, serviceAccount: m[3] as string };
}

/**
 * The identity a proxy's node description claims: the service account is the sidecar's service (the
 * gateway's workload), as Istio's demo deployments name their service accounts.
 */
export function identityOfNode(
  node: Pick<NodeInfo, 'namespace' | 'service' | 'workload'>,
  trustDomain: string,
) {
  return {
    trustDomain,
    namespace: node.namespace ?? 'default',
    serviceAccount: node.service ?? node.workload,
  } satisfies WorkloadIdentity;
}

/** POST ApiPaths.certificates: a PEM PKCS#10 request whose one URI SAN is the SPIFFE ID asked for. */
export const CertificateRequestSchema = z.strictObject({
  csr: z.string().min(1).max(16_384),
});
export type CertificateRequest = z.infer<typeof CertificateRequestSchema>;

/** The CA's answer: the workload's chain (leaf first) and the roots to trust, all PEM. */
export const CertificateResponseSchema = z.strictObject({
  certificateChain: z.array(z.string().min(1)).min(1),
  trustBundle: z.array(z.string().min(1)).min(1),
  /** The leaf's notAfter, ms since the epoch. */
  expiresAt: z.number(),
});
export type CertificateResponse = z.infer<typeof CertificateResponseSchema>;
