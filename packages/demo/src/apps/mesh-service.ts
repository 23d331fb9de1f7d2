// The demo's mesh services (service-a, service-b): answer GET / by calling the next hop through
// the sidecar (HTTP_PROXY) and wrapping its answer; GET /healthz for health checks.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Agent, type Dispatcher, ProxyAgent, request } from 'undici';
import { type Env, envNumber, envPort, envString } from './env.ts';

export interface MeshServiceOptions {
  service: string;
  version: string;
  pod: string;
  address: string;
  port: number;
  /** What GET / calls, e.g. http://service-b/. */
  upstreamUrl: string;
  /** The sidecar's outbound listener, e.g. http://127.0.0.1:15001; empty = call directly. */
  httpProxy: string;
  /** Share of GET / requests answered with failStatus (0..1). */
  failRate: number;
  failStatus: number;
  /** Added before answering GET /. */
  delayMs: number;
  /** When true, /healthz answers 503. */
  unhealthy: boolean;
  upstreamTimeoutMs: number;
  /** pino level: info by default; tests use silent. */
  logLevel?: string;
}

export function meshServiceOptionsFromEnv(service: string, env: Env): MeshServiceOptions {
  return {
    service,
    version: envString(env, 'SERVICE_VERSION', 'v1'),
    pod: envString(env, 'POD_NAME', `${service}-local`),
    address: envString(env, 'APP_ADDRESS', '127.0.0.1'),
    port: envPort(env, 'APP_PORT', 8080),
    upstreamUrl: envString(env, 'UPSTREAM_URL', ''),
    httpProxy: envString(env, 'HTTP_PROXY', envString(env, 'http_proxy', '')),
    failRate: envNumber(env, 'FAIL_RATE', 0, 0, 1),
    failStatus: envNumber(env, 'FAIL_STATUS', 500, 400, 599),
    delayMs: envNumber(env, 'DELAY_MS', 0, 0, 600_000),
    unhealthy: envString(env, 'UNHEALTHY', '') === '1',
    upstreamTimeoutMs: envNumber(env, 'UPSTREAM_TIMEOUT_MS', 10_000, 1, 600_000),
    logLevel: envString(env, 'LOG_LEVEL', 'info'),
  };
}

/**
 * Headers an app must copy from its request to its outbound call, as Istio asks of apps: the request id and
 * the trace context in both formats the proxies read (W3C, and B3 single and multi), so the proxies' spans
 * on either side of the app join one trace.
 */
export const PROPAGATED = [
  'x-request-id',
  'traceparent',
  'tracestate',
  'b3',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
];

export function viaList(header: string | string[] | undefined): string[] {
  const joined = Array.isArray(header) ? header.join(',') : (header ?? '');
  return joined
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export interface RunningApp {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startMeshService(options: MeshServiceOptions): Promise<RunningApp> {
  const log = pino({ name: options.pod, level: options.logLevel ?? 'info' });
  const dispatcher: Dispatcher = options.httpProxy
    ? new ProxyAgent({ uri: options.httpProxy, proxyTunnel: false })
    : new Agent({ keepAliveTimeout: 4000 });
  const identity = { service: options.service, version: options.version, pod: options.pod };

  async function callUpstream(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const name of PROPAGATED) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const res = await request(options.upstreamUrl, {
      dispatcher,
      headers,
      headersTimeout: options.upstreamTimeoutMs,
      bodyTimeout: options.upstreamTimeoutMs,
    });
    const text = await res.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (e.g. a proxy's plain-text error): keep the text
    }
    return { status: res.statusCode, body };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      sendJson(res, options.unhealthy ? 503 : 200, { ...identity, healthy: !options.unhealthy });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { ...identity, error: 'only GET is served' });
      return;
    }
    if (options.delayMs > 0) await sleep(options.delayMs);
    const via = viaList(req.headers.via);
    if (options.failRate > 0 && Math.random() < options.failRate) {
      sendJson(res, options.failStatus, { ...identity, via, error: 'failure injected by FAIL_RATE' });
      return;
    }
    if (!options.upstreamUrl) {
      sendJson(res, 200, { ...identity, via });
      return;
    }
    try {
      const upstream = await callUpstream(req);
      const ok = upstream.status >= 200 && upstream.status < 300;
      if (!ok)
        log.warn({ status: upstream.status, upstream: options.upstreamUrl }, 'upstream answered an error');
      sendJson(res, ok ? 200 : 502, {
        ...identity,
        via,
        ...(ok ? {} : { error: `upstream answered ${upstream.status}` }),
        upstream: ok ? upstream.body : { status: upstream.status, body: upstream.body },
      });
    } catch (err) {
      log.warn({ err, upstream: options.upstreamUrl }, 'upstream call failed');
      sendJson(res, 502, { ...identity, via, error: `upstream call failed: ${(err as Error).message}` });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { ...identity, error: 'internal error' });
      else res.destroy();
    });
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
  log.info(
    { address: options.address, port, upstream: options.upstreamUrl, proxy: options.httpProxy },
    'listening',
  );
  return {
    server,
    url: `http://${options.address}:${port}/`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await dispatcher.close();
    },
  };
}
