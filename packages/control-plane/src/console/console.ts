// The mesh console put together: the traffic readers (Prometheus when given, else the proxies' own
// stats), the live state service and its HTTP server. The control plane passes what it knows through
// MeshStatusSource and listens on the port it chose.
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { TraceStore } from '../traces/store.ts';
import type { ConfigHistory } from './config-history.ts';
import { PrometheusReader } from './prometheus-reader.ts';
import { ScrapeReader } from './scrape-reader.ts';
import { createConsoleServer } from './server.ts';
import { ConsoleService, type MeshStatusSource } from './service.ts';

export interface ConsoleOptions {
  status: MeshStatusSource;
  history: ConfigHistory;
  /** Spans the proxies exported, for the Traces page. */
  traces?: TraceStore | undefined;
  /** Read traffic from this Prometheus; without it (or while it is down) from the proxies directly. */
  prometheusUrl?: string | undefined;
  /** Rate window. Default 30 s. */
  windowSeconds?: number | undefined;
  /** Time between readings while someone watches. Default 2000 ms. */
  tickMs?: number | undefined;
  /** The built page; default packages/console/dist. */
  assetsDir?: string | undefined;
  token: string | undefined;
  logger: Logger;
}

export interface MeshConsole {
  service: ConsoleService;
  server: Server;
}

export function createConsole(o: ConsoleOptions): MeshConsole {
  const windowSeconds = o.windowSeconds ?? 30;
  const scrape = new ScrapeReader({ targets: () => o.status.connectedNodes(), windowSeconds });
  const readers = o.prometheusUrl
    ? [new PrometheusReader({ url: o.prometheusUrl, windowSeconds }), scrape]
    : [scrape];
  const service = new ConsoleService({
    status: o.status,
    history: o.history,
    readers,
    ...(o.tickMs ? { tickMs: o.tickMs } : {}),
    logger: o.logger,
  });
  const server = createConsoleServer({
    service,
    traces: o.traces,
    assetsDir: o.assetsDir ?? consoleAssetsDir(),
    token: o.token,
    logger: o.logger,
  });
  return { service, server };
}

/**
 * The console's built page: the dist/ folder of @strait/console, found through its package.json. The page is
 * its build output, not code this package imports (packages share code only through @strait/api).
 */
function consoleAssetsDir(): string {
  return join(dirname(fileURLToPath(import.meta.resolve('@strait/console/package.json'))), 'dist');
}
