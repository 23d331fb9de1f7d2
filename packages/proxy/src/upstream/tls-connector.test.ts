// Mesh mTLS toward an upstream, with real TLS on loopback and certificates from a test root: a client that
// expects service-b's SPIFFE ID talks to a server holding it, and refuses one presenting service-a's; the
// pool reports the refusal as a connect failure (UF), never as a request the server saw.
import { webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshCredentials } from '../identity/credentials.ts';
import { makeKeyAndCsr } from '../identity/csr.ts';
import { meshTls } from '../identity/mesh-tls.ts';
import { x509 } from '../identity/x509.ts';
import { ConnectionPool } from './pool.ts';
import { tlsConnector } from './tls-connector.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const id = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;

let rootKeys: webcrypto.CryptoKeyPair;
let root: x509.X509Certificate;

/** A key and a one-hour certificate for `spiffe`, signed by the test root. */
async function leaf(spiffe: string): Promise<{ key: string; cert: string }> {
  const { keyPem, csrPem } = await makeKeyAndCsr(spiffe);
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const cert = await x509.X509CertificateGenerator.create({
    subject: '',
    issuer: root.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    signingAlgorithm: SIGN,
    publicKey: csr.publicKey,
    signingKey: rootKeys.privateKey as never,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffe }], true)],
  });
  return { key: keyPem, cert: cert.toString('pem') };
}

const servers: Server[] = [];

/** A TLS server holding `spiffe` that asks for a mesh client certificate and answers one HTTP request. */
async function serverAs(spiffe: string): Promise<number> {
  const own = await leaf(spiffe);
  const server = createServer(
    { ...own, ca: root.toString('pem'), requestCert: true, rejectUnauthorized: true },
    (socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  rootKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  root = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test root',
    keys: rootKeys as never,
    signingAlgorithm: SIGN,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const client = await leaf(id('service-a'));
  const credentials: MeshCredentials = {
    keyPem: client.key,
    chainPem: [client.cert],
    trustBundle: [root.toString('pem')],
    spiffeId: id('service-a'),
    issuedAt: Date.now(),
    expiresAt: Date.now() + 3600_000,
    generation: 1,
  };
  meshTls.update(credentials);
});

afterAll(() => {
  for (const s of servers) s.close();
});

const settings = { connectTimeoutMs: 2000, idleTimeoutMs: 1000, maxConnections: undefined };

function acquire(port: number, expected: string) {
  const connector = tlsConnector({ mode: 'ISTIO_MUTUAL', subjectAltNames: [expected] });
  const pool = new ConnectionPool('127.0.0.1', port, settings, connector);
  return new Promise<{ ok: boolean; error?: string; pool: ConnectionPool }>((resolve) =>
    pool.acquire((got) =>
      resolve('connection' in got ? { ok: true, pool } : { ok: false, error: got.error.message, pool }),
    ),
  );
}

describe('ISTIO_MUTUAL upstream connections', () => {
  it("connect to a server holding the expected identity, presenting the proxy's certificate", async () => {
    const got = await acquire(await serverAs(id('service-b')), id('service-b'));
    expect(got.ok).toBe(true);
    got.pool.close();
  });

  it("refuse a server presenting another identity (service-a's where service-b's is expected)", async () => {
    const got = await acquire(await serverAs(id('service-a')), id('service-b'));
    expect(got.ok).toBe(false);
    expect(got.error).toContain('is not the expected spiffe://cluster.local/ns/default/sa/service-b');
    got.pool.close();
  });
});
