// Mesh certificates that live seconds, across real processes on 127.0.192.0/24: a mesh-wide STRICT mesh
// whose ingress gateway runs --workers 2 (the primary holds the one identity and hands it to its workers)
// carries requests to the sidecars over mTLS, and steady keep-alive traffic ingress -> service-a ->
// service-b (and service-a -> egress gateway) loses no request through several rotations of every proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, type Mesh, PROXY_IDS, startMesh, tokenFiles, waitFor } from './control-plane-support.ts';
import { type HeldCertificate, issuedCertificate, presentedCertificate } from './support/mesh-certs.ts';

const CERT_TTL_MS = 5000;
const STRICT =
  'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec: { mtls: { mode: STRICT } }\n';

let mesh: Mesh;
let client: HeldCertificate;

beforeAll(async () => {
  mesh = await startMesh(0, {
    block: '127.0.192',
    certTtlMs: CERT_TTL_MS,
    ingressWorkers: 2,
    files: { 'peer-authentication.yaml': STRICT },
  });
  client = await issuedCertificate(mesh.server, tokenFiles(mesh.configDir).join, 'rotation-probe');
}, 90_000);

afterAll(async () => {
  await mesh?.stop();
});

interface WorkerRow {
  index: number;
  pid: number;
  state: string;
  restarts: number;
  certificate?: { serial: string; generation: number; expiresAt: number };
}

/** The ingress gateway's workers as its primary reports them, each with the certificate it presents. */
async function ingressWorkers(): Promise<WorkerRow[]> {
  const info = JSON.parse((await get(`http://${mesh.layout.ingress}:15000/server_info`)).text) as {
    workers: { list: WorkerRow[] };
  };
  return info.workers.list;
}

/** The serial each mTLS server in the mesh presents: the sidecars' inbound ports and the egress gateway. */
async function presentedSerials(): Promise<Record<string, string>> {
  const l = mesh.layout;
  const servers: [string, string, number][] = [
    ['service-a', l.serviceA, 15006],
    ['service-b-v1', l.serviceB1, 15006],
    ['service-b-v2', l.serviceB2, 15006],
    ['egress', l.egress, 15443],
  ];
  const serials: Record<string, string> = {};
  for (const [name, host, port] of servers)
    serials[name] = (await presentedCertificate(host, port, client)).serialNumber;
  return serials;
}

async function issuedSoFar(): Promise<number> {
  const metrics = (await get(`${mesh.monitoring}/metrics`)).text;
  return Number(/^citadel_server_success_cert_issuance_count (\d+)/m.exec(metrics)?.[1]);
}

describe('mTLS with certificates that live seconds', () => {
  it('a --workers 2 ingress gives every worker the mesh certificate and carries requests to the sidecars over mTLS', async () => {
    // STRICT is in force: a plain-text caller is cut.
    await expect(get(`http://${mesh.layout.serviceA}:15006/`, {}, 3000)).rejects.toThrow();
    const workers = await waitFor('both ingress workers to hold the same certificate', async () => {
      const list = await ingressWorkers();
      const serials = new Set(list.map((w) => w.certificate?.serial));
      return list.length === 2 && list.every((w) => w.certificate) && serials.size === 1 ? list : undefined;
    });
    expect(workers.map((w) => w.state)).toEqual(['serving', 'serving']);
    // A new connection each time, so the kernel spreads them over both workers.
    for (let i = 0; i < 20; i++) {
      const answer = await mesh.front();
      expect(answer.status, answer.text).toBe(200);
      expect(answer.text).toMatch(/^a>b-v[12]$/);
    }
    const stats = (await get(`http://${mesh.layout.serviceA}:15090/stats/prometheus`)).text;
    expect(stats).toMatch(
      /istio_requests_total\{[^}]*reporter="destination"[^}]*source_principal="spiffe:\/\/cluster\.local\/ns\/[^/]+\/sa\/istio-ingressgateway"[^}]*connection_security_policy="mutual_tls"/,
    );
  }, 30_000);

  it('a re-forked ingress worker gets the current certificate before it serves', async () => {
    const [first] = await ingressWorkers();
    process.kill(first?.pid as number, 'SIGKILL');
    const back = await waitFor('the worker to be re-forked and serving with a certificate', async () => {
      const row = (await ingressWorkers()).find((w) => w.index === first?.index);
      return row && row.restarts > (first?.restarts ?? 0) && row.state === 'serving' && row.certificate
        ? row
        : undefined;
    });
    expect(back.pid).not.toBe(first?.pid);
    for (let i = 0; i < 20; i++) {
      const answer = await mesh.front();
      expect(answer.status, answer.text).toBe(200);
    }
  }, 30_000);

  it('steady keep-alive traffic loses no request while every proxy rotates its certificate several times', async () => {
    const connectedSince = new Map(
      (await mesh.statuses()).map((row) => [row.id, row.connectedSince] as const),
    );
    const workersBefore = await ingressWorkers();
    const serialsBefore = await presentedSerials();
    const issuedBefore = await issuedSoFar();

    // Four steady callers on keep-alive connections (fetch pools them) for three certificate lifetimes.
    const answers: Record<string, number> = {};
    const until = Date.now() + 3 * CERT_TTL_MS;
    const caller = async (n: number) => {
      for (let i = 0; Date.now() < until; i++) {
        const path = (n + i) % 4 === 0 ? '/partner' : '/';
        const key = await fetch(`http://${mesh.layout.ingress}:8080${path}`).then(
          async (res) =>
            `${res.status} ${path === '/partner' ? await res.text() : (await res.text()).slice(0, 2)}`,
          (err: Error) => `lost: ${err.message}`,
        );
        answers[key] = (answers[key] ?? 0) + 1;
        // Steady, not flat out: at most 100 req/s per caller keeps under the test mesh's ingress rate limit
        // (1000/s, shared by the two workers), so every answer is about the path, not the bucket.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await Promise.all([0, 1, 2, 3].map(caller));

    const total = Object.values(answers).reduce((a, b) => a + b, 0);
    const ok = (answers['200 a>'] ?? 0) + (answers['200 partner'] ?? 0);
    expect(answers, mesh.dump()).toEqual({ '200 a>': expect.any(Number), '200 partner': expect.any(Number) });
    expect(ok).toBe(total);
    expect(total).toBeGreaterThan(100);

    // Every proxy rotated: new serials everywhere, several issuances each, and no discovery stream lost.
    const serialsAfter = await presentedSerials();
    for (const [name, serial] of Object.entries(serialsBefore))
      expect(serialsAfter[name], `${name} still presents serial ${serial}`).not.toBe(serial);
    const workersAfter = await ingressWorkers();
    for (const worker of workersAfter) {
      const before = workersBefore.find((w) => w.index === worker.index)?.certificate;
      expect(worker.certificate?.serial).toBeDefined();
      expect(worker.certificate?.serial).not.toBe(before?.serial);
      expect(worker.certificate?.generation).toBeGreaterThanOrEqual((before?.generation ?? 0) + 2);
    }
    expect(await issuedSoFar()).toBeGreaterThanOrEqual(issuedBefore + 2 * PROXY_IDS.length);
    const metrics = (await get(`${mesh.monitoring}/metrics`)).text;
    expect(metrics).toMatch(/^citadel_server_csr_count \d+/m);
    expect(metrics).toMatch(/^citadel_server_root_cert_expiry_timestamp \d/m);
    const rows = await mesh.statuses();
    for (const id of PROXY_IDS) {
      const row = rows.find((r) => r.id === id);
      expect(row?.connected, id).toBe(true);
      expect(row?.connectedSince, id).toBe(connectedSince.get(id));
    }
  }, 60_000);
});
