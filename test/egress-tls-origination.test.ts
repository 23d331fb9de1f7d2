// TLS origination at the egress gateway across real processes (Istio's egress TLS-origination task): the app
// sends plain HTTP for an external host to its sidecar, the sidecar hands it to the egress gateway over mTLS,
// and the gateway opens TLS (SNI from the DestinationRule) to the HTTPS stand-in on 127.0.191.152, checking
// its certificate against the CA file the rule names; a host whose certificate that CA did not sign gets 503 UF.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyStatus } from '../packages/api/src/index.ts';
import {
  apiAuth,
  closeServer,
  get,
  type Mesh,
  startMesh,
  viaProxy,
  waitUntilSynced,
} from './control-plane-support.ts';
import { issueServerCertificate, makeTestRoot } from './support/test-pki.ts';

const BLOCK = '127.0.191';
const TRUSTED_UPSTREAM = `${BLOCK}.152`;
const ROGUE_UPSTREAM = `${BLOCK}.153`;
const HTTPS_PORT = 8443;

let mesh: Mesh;
let scratch: string;
const upstreams: https.Server[] = [];
/** What the HTTPS stand-ins saw: SNI, Host and path of each request. */
const seen: { sni: string | false | null; host: string | undefined; path: string | undefined }[] = [];

async function startHttps(address: string, credentials: { cert: string; key: string }, text: string) {
  const server = https.createServer(credentials, (req, res) => {
    seen.push({ sni: (req.socket as TLSSocket).servername, host: req.headers.host, path: req.url });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(text);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(HTTPS_PORT, address, () => resolve());
  });
  upstreams.push(server);
}

/** Istio's task, for two external hosts: port 80 in the mesh, TLS to the endpoint's 8443 from the gateway. */
function originationYaml(host: string, address: string, caFile: string): string {
  const name = host.split('.')[0];
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name} }
spec:
  hosts: [${host}]
  ports:
    - { number: 80, name: http-port, protocol: HTTP }
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints:
    - { address: ${address}, ports: { http-port: ${HTTPS_PORT} } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name} }
spec:
  host: ${host}
  trafficPolicy:
    portLevelSettings:
      - port: { number: 80 }
        tls:
          mode: SIMPLE
          sni: ${host}
          caCertificates: ${caFile}
`;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'strait-origination-'));
  const trusted = await makeTestRoot('egress test root');
  const rogue = await makeTestRoot('some other root');
  const caFile = join(scratch, 'egress-ca.pem');
  await writeFile(caFile, trusted.pem);
  await startHttps(
    TRUSTED_UPSTREAM,
    await issueServerCertificate(trusted, 'secure.partner.example'),
    'secure',
  );
  await startHttps(ROGUE_UPSTREAM, await issueServerCertificate(rogue, 'rogue.partner.example'), 'rogue');
  mesh = await startMesh(100, { block: BLOCK });
  const res = await fetch(`${mesh.server}/v1/resources`, {
    method: 'PUT',
    headers: { 'content-type': 'application/yaml', ...(await apiAuth(mesh.configDir)) },
    body: [
      originationYaml('secure.partner.example', TRUSTED_UPSTREAM, caFile),
      originationYaml('rogue.partner.example', ROGUE_UPSTREAM, caFile),
    ].join('---\n'),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  await new Promise((r) => setTimeout(r, 300));
  await waitUntilSynced(mesh);
}, 90_000);

afterAll(async () => {
  await mesh?.stop();
  await Promise.all(upstreams.map(closeServer));
  await rm(scratch, { recursive: true, force: true });
});

const fromServiceA = (url: string) => viaProxy({ host: mesh.layout.serviceA, port: 15001 }, url);

describe('SIMPLE TLS origination at the egress gateway', () => {
  it('turns a plain request from a sidecar into TLS with the SNI and CA of the DestinationRule', async () => {
    seen.length = 0;
    const answer = await fromServiceA('http://secure.partner.example/orders?id=7');
    expect(answer, mesh.dump()).toEqual({ status: 200, text: 'secure' });
    expect(seen).toEqual([
      { sni: 'secure.partner.example', host: 'secure.partner.example', path: '/orders?id=7' },
    ]);
    // The egress gateway counted it as its own request to the external host.
    const egress = (await get(`http://${mesh.layout.egress}:15090/stats/prometheus`)).text;
    expect(egress).toMatch(
      /istio_requests_total\{[^}]*reporter="source"[^}]*destination_service="secure\.partner\.example"[^}]*response_code="200"/,
    );
  });

  it('refuses an upstream whose certificate the configured CA did not sign: 503 UF, nothing sent', async () => {
    seen.length = 0;
    const answer = await fromServiceA('http://rogue.partner.example/');
    expect(answer.status).toBe(503);
    expect(seen).toEqual([]);
    const egress = (await get(`http://${mesh.layout.egress}:15090/stats/prometheus`)).text;
    expect(egress).toMatch(
      /istio_requests_total\{[^}]*destination_service="rogue\.partner\.example"[^}]*response_code="503"[^}]*response_flags="UF"/,
    );
  });

  it('a CA file the gateway cannot read is refused by the gateway (NACK naming it) and the last good config serves on', async () => {
    const missing = join(scratch, 'no-such-ca.pem');
    const res = await fetch(`${mesh.server}/v1/resources`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml', ...(await apiAuth(mesh.configDir)) },
      body: originationYaml('secure.partner.example', TRUSTED_UPSTREAM, missing),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    let egress: ProxyStatus | undefined;
    for (let i = 0; i < 100 && egress?.status !== 'NACKED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      egress = (await mesh.statuses()).find((p) => p.id === 'istio-egressgateway-1');
    }
    expect(egress?.status).toBe('NACKED');
    expect(egress?.lastNack?.error).toContain(`caCertificates ${missing} cannot be read`);
    expect(await fromServiceA('http://secure.partner.example/')).toEqual({ status: 200, text: 'secure' });
  });
});
