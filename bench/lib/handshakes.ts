// What a new connection costs with mutual TLS against plain text: requests one after another, each on a
// fresh connection, to one sidecar whose inbound is PERMISSIVE (both on the same port), in alternating
// blocks; wall time per request (the client's half of the handshake included) and the sidecar's CPU.
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Ports } from '@strait/api';
import { CERT_FILES } from '../../packages/proxy/src/identity/cert-files.ts';
import { certDirFor } from './mesh-certs.ts';
import { stopAll } from './processes.ts';
import { cpuSeconds, processTree } from './procfs.ts';
import { median } from './stats.ts';
import { ADDR, hopSidecar, launcher, type TargetContext } from './targets.ts';

export interface ConnectionCost {
  /** Wall ms per request on a new connection. */
  ms: number;
  /** The sidecar's CPU ms per request on a new connection. */
  cpuMs: number;
}

export interface HandshakeResult {
  /** Requests per block; `blocks` blocks of each kind, interleaved. */
  perBlock: number;
  blocks: number;
  plain: ConnectionCost;
  mtls: ConnectionCost;
}

type Client = { key: string; cert: string; ca: string } | undefined;

/** One request on a new connection to the sidecar's inbound; resolves when the answer has been read. */
function freshRequest(client: Client): Promise<void> {
  return new Promise((resolve, reject) => {
    const options = {
      host: ADDR.handshakeSidecar,
      port: Ports.sidecarInbound,
      path: '/',
      agent: false as const,
    };
    const req = client
      ? httpsRequest({ ...options, ...client, servername: '', checkServerIdentity: () => undefined }, (res) =>
          res.resume().on('end', resolve),
        )
      : httpRequest(options, (res) => res.resume().on('end', resolve));
    req.on('error', reject);
    req.end();
  });
}

/** CPU seconds of a process and its children. */
const treeCpu = (pid: number): number => processTree(pid).reduce((sum, p) => sum + cpuSeconds(p), 0);

async function block(pid: number, count: number, client: Client): Promise<ConnectionCost> {
  const cpu0 = treeCpu(pid);
  const started = performance.now();
  for (let i = 0; i < count; i++) await freshRequest(client);
  return {
    ms: (performance.now() - started) / count,
    cpuMs: ((treeCpu(pid) - cpu0) * 1000) / count,
  };
}

export async function measureHandshakes(
  ctx: TargetContext,
  perBlock: number,
  blocks: number,
): Promise<HandshakeResult> {
  const sidecar = await launcher(ctx)({
    ...hopSidecar('handshake-sidecar', ADDR.handshakeSidecar, 'PERMISSIVE'),
    certDir: await certDirFor(ctx.workDir, 'bench-hop'),
  });
  try {
    const dir = await certDirFor(ctx.workDir, 'bench-client');
    const [key, cert, ca] = await Promise.all(
      [CERT_FILES.key, CERT_FILES.chain, CERT_FILES.roots].map((f) => readFile(join(dir, f), 'utf8')),
    );
    const client = { key: key as string, cert: cert as string, ca: ca as string };
    // A first block of each, not counted: the sidecar's and this process's TLS paths warm up.
    await block(sidecar.pid, 50, undefined);
    await block(sidecar.pid, 50, client);
    const plain: ConnectionCost[] = [];
    const mtls: ConnectionCost[] = [];
    for (let b = 0; b < blocks; b++) {
      plain.push(await block(sidecar.pid, perBlock, undefined));
      mtls.push(await block(sidecar.pid, perBlock, client));
    }
    const mid = (costs: ConnectionCost[]): ConnectionCost => ({
      ms: median(costs.map((c) => c.ms)),
      cpuMs: median(costs.map((c) => c.cpuMs)),
    });
    return { perBlock, blocks, plain: mid(plain), mtls: mid(mtls) };
  } finally {
    await stopAll([sidecar]);
  }
}
