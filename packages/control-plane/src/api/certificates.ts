// POST /v1/certificates (Istio's CreateCertificate): a proxy's first CSR is admitted by the mesh join token
// and may ask for any identity; a renewal comes over TLS with the current certificate and may only ask
// for the identity that certificate holds.
import type { IncomingMessage } from 'node:http';
import {
  CertificateRequestSchema,
  type CertificateResponse,
  describeIssues,
  Errors,
  issuesOf,
  StraitError,
} from '@strait/api';
import { callerIdentity } from '../ca/caller.ts';
import type { MeshIdentity } from '../ca/mesh-identity.ts';
import { authorized } from './http-util.ts';

export async function issueCertificate(
  identity: MeshIdentity,
  req: IncomingMessage,
  body: unknown,
): Promise<CertificateResponse> {
  const parsed = CertificateRequestSchema.safeParse(body);
  if (!parsed.success)
    throw new StraitError(Errors.BAD_REQUEST, describeIssues(issuesOf(parsed.error), 'certificate request'));
  const { csr } = parsed.data;
  const caller = callerIdentity(req);
  if (caller) return identity.ca.issue(csr, caller);
  if (!authorized(req, identity.joinToken))
    throw new StraitError(
      Errors.UNAUTHORIZED,
      "a proxy's first certificate needs the mesh join token (Authorization: Bearer <join token>); a renewal needs the current certificate",
    );
  return identity.ca.issue(csr, identity.ca.requestedIdentity(csr));
}
