// A client of a test mesh's sidecars as another workload would be: a certificate for a service account of its
// choosing from the mesh's CA (join token), requests over mutual TLS or plain text to an inbound port, and
// resources applied or deleted through the control plane's API with the proxies synced after.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { makeKeyAndCsr } from '../../packages/proxy/src/identity/csr.ts';
import { apiAuth, type Mesh, tokenFiles, waitUntilSynced } from '../control-plane-support.ts';

export interface ClientCert {
  key: string;
  cert: string;
}

/** A workload certificate for `spiffe://cluster.local/ns/default/sa/<serviceAccount>`, issued by the mesh's CA. */
export async function meshCertificate(mesh: Mesh, serviceAccount: string): Promise<ClientCert> {
  const joinToken = (await readFile(tokenFiles(mesh.configDir).join, 'utf8')).trim();
  const { keyPem, csrPem } = await makeKeyAndCsr(`spiffe://cluster.local/ns/default/sa/${serviceAccount}`);
  const res = await fetch(`${mesh.server}/v1/certificates`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${joinToken}` },
    body: JSON.stringify({ csr: csrPem }),
  });
  if (res.status !== 200) throw new Error(`certificate refused: ${res.status} ${await res.text()}`);
  const issued = (await res.json()) as { certificateChain: string[] };
  return { key: keyPem, cert: issued.certificateChain.join('\n') };
}

/** The mesh's root certificate, to trust the sidecars' server certificates. */
export function meshRoot(mesh: Mesh): Promise<string> {
  return readFile(join(mesh.configDir, '.strait', 'ca', 'root-cert.pem'), 'utf8');
}

export interface InboundRequest {
  /** TLS with this client certificate (or none: a TLS client without one); absent with `plain`. */
  client?: ClientCert | undefined;
  /** The root to trust over TLS. */
  trust?: string;
  /** Plain text instead of TLS. */
  plain?: boolean;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** The client's own address (a loopback address of the test's block). */
  localAddress?: string;
  port?: number;
}

/** One request to `address`'s inbound port (15006); resolves with the answer, rejects when refused. */
export function inboundRequest(address: string, options: InboundRequest = {}) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const common = {
      host: address,
      port: options.port ?? 15006,
      path: options.path ?? '/',
      method: options.method ?? 'GET',
      agent: false as const,
      headers: options.headers ?? {},
      timeout: 5000,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    };
    const onResponse = (res: http.IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    };
    const req = options.plain
      ? http.request(common, onResponse)
      : https.request(
          { ...common, ca: options.trust, ...(options.client ?? {}), checkServerIdentity: () => undefined },
          onResponse,
        );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** PUTs (or DELETEs) resources through the API and waits until every proxy runs the result. */
export async function changeResources(mesh: Mesh, yaml: string, method: 'PUT' | 'DELETE' = 'PUT') {
  const res = await fetch(`${mesh.server}/v1/resources`, {
    method,
    headers: { 'content-type': 'application/yaml', ...(await apiAuth(mesh.configDir)) },
    body: yaml,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} answered ${res.status}: ${text}`);
  await new Promise((r) => setTimeout(r, 300));
  await waitUntilSynced(mesh);
}
