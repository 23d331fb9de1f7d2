// Opens upstream connections over TLS, as a cluster's TLS settings say: ISTIO_MUTUAL presents the proxy's
// mesh certificate and accepts only a server holding one of the expected SPIFFE IDs (the identity the
// control plane expects for that destination); SIMPLE originates TLS to an external host, checked by name
// against the system's roots or the CA bundle file the DestinationRule names.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { connect, createSecureContext } from 'node:tls';
import type { UpstreamTls } from '@strait/api';
import { expectSpiffeId } from '../identity/credentials.ts';
import { meshTls } from '../identity/mesh-tls.ts';
import type { Connector } from './pool.ts';

export function tlsConnector(tls: UpstreamTls): Connector {
  if (tls.mode === 'ISTIO_MUTUAL') {
    const check = expectSpiffeId(tls.subjectAltNames);
    return (address, port): Socket => {
      const secureContext = meshTls.clientContext();
      // Without a certificate of its own the proxy cannot make a mesh connection: fail it like a refused one.
      if (!secureContext) return refused(address, port, 'this proxy holds no mesh certificate yet');
      return connect({ host: address, port, secureContext, checkServerIdentity: check, servername: '' });
    };
  }
  const names = tls.subjectAltNames;
  // The CA bundle is parsed once per cluster, not once per connection.
  const secureContext = tls.caCertificates
    ? createSecureContext({ ca: trustedRoots(tls.caCertificates) })
    : undefined;
  return (address, port): Socket =>
    connect({
      host: address,
      port,
      ...(tls.sni ? { servername: tls.sni } : {}),
      ...(secureContext ? { secureContext } : {}),
      ...(names && names.length > 0
        ? { checkServerIdentity: (_host, cert) => sanCheck(names, cert.subjectaltname ?? '') }
        : {}),
    });
}

/** The PEM bundle at `path` (Istio's caCertificates); a file that cannot be read or holds none fails the apply. */
function trustedRoots(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`caCertificates ${path} cannot be read: ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new Error(`caCertificates ${path} holds no PEM certificate`);
  return text;
}

function sanCheck(names: readonly string[], san: string): Error | undefined {
  const given = san.split(', ').map((n) => n.replace(/^(DNS|URI|IP Address):/, ''));
  return names.some((n) => given.includes(n))
    ? undefined
    : new Error(`the server's names (${given.join(', ')}) are not ${names.join(' or ')}`);
}

function refused(address: string, port: number, why: string): Socket {
  const socket = connect({ host: address, port, servername: '' });
  process.nextTick(() => socket.destroy(new Error(why)));
  return socket;
}
