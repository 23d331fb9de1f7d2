// The proxy's three side servers, on Istio's ports: admin (:15000, like Envoy's admin), Prometheus stats
// (:15090) and readiness (:15021). They read state through AdminContext (the lead's main.ts supplies it), and
// the process's mesh certificates for /certs.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Errors, ProxyAdminPaths } from '@strait/api';
import type pino from 'pino';
import { meshCertificates } from './certs.ts';
import { type AdminRoute, errorReply, jsonReply, type Reply, router, textReply } from './http.ts';

/** What the servers need from the running proxy. */
export interface AdminContext {
  /** The config in force (snapshot, version, node), for GET /config_dump. */
  configDump(): unknown;
  /** Clusters with endpoints and their health, for GET /clusters (a --workers primary asks its workers). */
  clusters(): unknown | Promise<unknown>;
  /** True once a snapshot is applied and the proxy is not draining. */
  isReady(): boolean;
  /** Sets the proxy's log level; false when `level` is not a level name. */
  setLogLevel(level: string): boolean | Promise<boolean>;
  /** Stops accepting new connections and finishes in-flight requests. */
  drain(): Promise<void>;
  /** The Prometheus exposition text. */
  metrics(): Promise<string>;
  metricsContentType: string;
  /** Who and what this proxy is (id, role, version, uptime, ...), for GET /server_info. */
  serverInfo(): unknown;
  /** The mesh certificates in force, for GET /certs (public material only); default: this process's identity. */
  certs?(): unknown;
  /** Optional: true while draining, so /ready can say DRAINING instead of INITIALIZING. */
  isDraining?(): boolean;
}

export interface AdminServersOptions {
  adminAddress: string;
  adminPort: number;
  statsAddress: string;
  statsPort: number;
  readyPort: number;
  ctx: AdminContext;
  logger?: pino.Logger;
}

export interface AdminServers {
  close(): Promise<void>;
  /** The bound ports (the real ones when 0 was asked for). */
  ports: { admin: number; stats: number; ready: number };
}

/** Starts the three servers; if one cannot bind, the others are closed and the error is thrown. */
export async function startAdminServers(opts: AdminServersOptions): Promise<AdminServers> {
  const { ctx, logger } = opts;
  let drainRequested = false;
  const draining = (): boolean => drainRequested || (ctx.isDraining?.() ?? false);

  const prometheus: AdminRoute = {
    path: ProxyAdminPaths.stats,
    method: 'GET',
    handle: async (): Promise<Reply> => ({
      status: 200,
      body: await ctx.metrics(),
      contentType: ctx.metricsContentType,
    }),
  };

  const adminRoutes: AdminRoute[] = [
    { path: ProxyAdminPaths.configDump, method: 'GET', handle: () => jsonReply(200, ctx.configDump()) },
    {
      path: ProxyAdminPaths.clusters,
      method: 'GET',
      handle: async () => jsonReply(200, await ctx.clusters()),
    },
    { path: ProxyAdminPaths.serverInfo, method: 'GET', handle: () => jsonReply(200, ctx.serverInfo()) },
    {
      path: ProxyAdminPaths.certs,
      method: 'GET',
      handle: () => jsonReply(200, ctx.certs ? ctx.certs() : meshCertificates()),
    },
    {
      // Envoy's answer: the server state as one word.
      path: ProxyAdminPaths.state,
      method: 'GET',
      handle: () => {
        if (draining()) return textReply(503, 'DRAINING');
        return ctx.isReady() ? textReply(200, 'LIVE') : textReply(503, 'INITIALIZING');
      },
    },
    {
      path: ProxyAdminPaths.logging,
      method: 'POST',
      handle: async (url) => {
        const level = url.searchParams.get('level');
        if (!level) return errorReply(Errors.BAD_REQUEST, 'give the level as ?level=debug');
        if (!(await ctx.setLogLevel(level)))
          return errorReply(Errors.BAD_REQUEST, `unknown log level "${level}"`);
        logger?.info({ level }, 'log level changed through the admin API');
        return jsonReply(200, { level });
      },
    },
    {
      path: ProxyAdminPaths.drain,
      method: 'POST',
      handle: async () => {
        drainRequested = true;
        logger?.info('drain requested through the admin API');
        await ctx.drain();
        return textReply(200, 'OK');
      },
    },
    prometheus,
  ];

  const readyRoutes: AdminRoute[] = [
    {
      path: ProxyAdminPaths.ready,
      method: 'GET',
      handle: () => (ctx.isReady() && !draining() ? textReply(200, 'ready') : textReply(503, 'not ready')),
    },
  ];

  const started: http.Server[] = [];
  try {
    const admin = await listen(router(adminRoutes, logger), opts.adminPort, opts.adminAddress, 'admin');
    started.push(admin.server);
    const stats = await listen(router([prometheus], logger), opts.statsPort, opts.statsAddress, 'stats');
    started.push(stats.server);
    const ready = await listen(router(readyRoutes, logger), opts.readyPort, opts.statsAddress, 'readiness');
    started.push(ready.server);
    return {
      ports: { admin: admin.port, stats: stats.port, ready: ready.port },
      close: () => closeAll(started),
    };
  } catch (err) {
    await closeAll(started);
    throw err;
  }
}

async function listen(
  handler: http.RequestListener,
  port: number,
  address: string,
  name: string,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  server.listen(port, address);
  try {
    await once(server, 'listening');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`${name} server could not listen on ${address}:${port}: ${reason}`, { cause: err });
  }
  return { server, port: (server.address() as AddressInfo).port };
}

async function closeAll(servers: http.Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
}
