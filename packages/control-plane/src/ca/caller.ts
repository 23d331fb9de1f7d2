// Who is calling the control plane's API: the SPIFFE identity of a verified client certificate (a proxy
// after its first certificate), and whether a bearer token matches.
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import { parseSpiffeId, type WorkloadIdentity } from '@strait/api';

/** The identity in the caller's certificate when it chains to the mesh's root and is in date; else undefined. */
export function callerIdentity(req: IncomingMessage): WorkloadIdentity | undefined {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const san = socket.getPeerCertificate().subjectaltname ?? '';
  const uris = san
    .split(', ')
    .filter((n) => n.startsWith('URI:'))
    .map((n) => n.slice(4));
  return uris.length === 1 ? parseSpiffeId(uris[0] as string) : undefined;
}

export function sameIdentity(a: WorkloadIdentity, b: WorkloadIdentity): boolean {
  return (
    a.trustDomain === b.trustDomain && a.namespace === b.namespace && a.serviceAccount === b.serviceAccount
  );
}
