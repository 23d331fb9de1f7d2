// Mesh certificates in cross-process tests: one issued by a running control plane against its join token
// (as a new proxy gets its first), and the certificate a proxy's mTLS listener presents right now.
import { readFile } from 'node:fs/promises';
import { connect, type PeerCertificate } from 'node:tls';
import { makeKeyAndCsr } from '../../packages/proxy/src/identity/csr.ts';

export interface HeldCertificate {
  key: string;
  cert: string;
  ca: string[];
}

/** A certificate for service account `sa` in `default`, from the control plane at `server`. */
export async function issuedCertificate(
  server: string,
  joinTokenFile: string,
  sa: string,
): Promise<HeldCertificate> {
  const token = (await readFile(joinTokenFile, 'utf8')).trim();
  const { keyPem, csrPem } = await makeKeyAndCsr(`spiffe://cluster.local/ns/default/sa/${sa}`);
  const res = await fetch(`${server}/v1/certificates`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ csr: csrPem }),
  });
  if (res.status !== 200) throw new Error(`certificate refused (${res.status}): ${await res.text()}`);
  const body = (await res.json()) as { certificateChain: string[]; trustBundle: string[] };
  return { key: keyPem, cert: body.certificateChain.join('\n'), ca: body.trustBundle };
}

/** Completes an mTLS handshake with `host:port` presenting `client`, and returns the server's certificate. */
export function presentedCertificate(
  host: string,
  port: number,
  client: HeldCertificate,
): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      key: client.key,
      cert: client.cert,
      ca: client.ca,
      servername: '',
      // Mesh servers are named by SPIFFE ID, not host name; the chain is still checked against the mesh root.
      checkServerIdentity: () => undefined,
      timeout: 5000,
    });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate());
      socket.destroy();
    });
    socket.once('timeout', () => socket.destroy(new Error(`no TLS handshake with ${host}:${port}`)));
    socket.once('error', reject);
  });
}
