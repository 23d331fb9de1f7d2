// The stand-in for the internet: answers as api.partner.example, outside the mesh, with the Via header it
// received (the hops that carried the call out: the caller's sidecar, then the egress gateway).
import { createServer } from 'node:http';
import pino from 'pino';
import { type Env, envPort, envString } from './env.ts';
import { type RunningApp, viaList } from './mesh-service.ts';

export interface ExternalApiOptions {
  address: string;
  port: number;
  /** The name this stand-in answers for. */
  name: string;
}

export function externalApiOptionsFromEnv(env: Env): ExternalApiOptions {
  return {
    address: envString(env, 'APP_ADDRESS', '127.0.0.1'),
    port: envPort(env, 'APP_PORT', 8080),
    name: envString(env, 'EXTERNAL_NAME', 'api.partner.example'),
  };
}

export async function startExternalApi(options: ExternalApiOptions): Promise<RunningApp> {
  const log = pino({ name: 'external-api' });
  const server = createServer((req, res) => {
    const body = `${JSON.stringify({
      service: 'external-api',
      name: options.name,
      host: req.headers.host ?? null,
      path: req.url ?? '/',
      via: viaList(req.headers.via),
      time: new Date().toISOString(),
    })}\n`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : options.port;
  log.info({ address: options.address, port }, 'listening');
  return {
    server,
    url: `http://${options.address}:${port}/`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
