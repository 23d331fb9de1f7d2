#!/usr/bin/env node
// strait-proxy: parse flags, start the proxy, take config from a bootstrap file and/or the control plane.
// With --workers N > 1 this process is the primary and forks N workers, which run this same script.
import { readFile } from 'node:fs/promises';
import { StraitError } from '@strait/api';
import { readBootstrap } from './config/bootstrap.ts';
import { parseOptions, USAGE, UsageError } from './config/options.ts';
import { readCertDir } from './identity/cert-files.ts';
import { ProxyWorkloadIdentity } from './identity/workload-identity.ts';
import { StraitProxy } from './proxy.ts';
import { registerDiscoveryStats } from './telemetry/discovery-stats.ts';
import { WorkerPrimary } from './workers/primary.ts';
import { isWorkerProcess, runWorker } from './workers/worker.ts';
import { DiscoveryClient } from './xds/client.ts';

/** What main needs from a proxy: the single process, or the primary of a --workers proxy. */
type RunningProxy = StraitProxy | WorkerPrimary;

async function main(): Promise<void> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`strait-proxy: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  // A proxy must outlive one bad connection: an error nothing else caught is logged, not fatal.
  // A reader of our output that went away (EPIPE) must not stop the proxy, nor its shutdown.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  if (isWorkerProcess()) {
    runWorker(options);
    return;
  }

  const proxy: RunningProxy = options.workers > 1 ? new WorkerPrimary(options) : new StraitProxy(options);
  await proxy.start();
  // File-mounted certificates come before the first config, so mesh listeners handshake from the start.
  if (options.certDir) await proxy.installCredentials(await readCertDir(options.certDir));
  if (options.bootstrap) await proxy.apply(await readBootstrap(options.bootstrap));
  if (options.controlPlane) {
    const identity = meshIdentity(options, proxy);
    const discovery = new DiscoveryClient({
      urls: options.controlPlane,
      node: proxy.node,
      apply: (snapshot) => proxy.apply(snapshot),
      logger: proxy.logger.child({ component: 'xds' }),
      ...(options.token ? { token: options.token } : {}),
      ...(identity ? { identity } : {}),
      ...(proxy.snapshot ? { initial: proxy.snapshot } : {}),
    });
    discovery.onStatus((status) => proxy.telemetry.trackDiscovery(status));
    registerDiscoveryStats(proxy.telemetry.registry, () => ({ ...discovery.counters, ...discovery.status }));
    proxy.discovery = discovery;
    discovery.start();
  }
  proxy.logger.info(
    { role: options.role, address: options.address, ports: proxy.adminPorts, workers: options.workers },
    'strait-proxy started',
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    proxy.logger.info({ signal }, 'stopping: draining in-flight requests');
    proxy.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('uncaughtException', (err) => proxy.logger.error({ err }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => proxy.logger.error({ err }, 'unhandled rejection'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** The proxy's mesh identity when it was given the join token (or the file holding it). */
function meshIdentity(
  options: Exclude<ReturnType<typeof parseOptions>, 'help'>,
  proxy: RunningProxy,
): ProxyWorkloadIdentity | undefined {
  const { joinToken, joinTokenFile, controlPlane } = options;
  if ((!joinToken && !joinTokenFile) || !controlPlane) return undefined;
  const identity = new ProxyWorkloadIdentity({
    urls: controlPlane,
    node: proxy.node,
    trustDomain: options.trustDomain,
    // Read at each need: in compose the file appears when the control plane has first started.
    joinToken: async () => joinToken ?? (await readFile(joinTokenFile as string, 'utf8')).trim(),
    logger: proxy.logger.child({ component: 'identity' }),
  });
  // Listeners and upstream pools take each new certificate for their next connections (a --workers
  // primary holds the one key and hands every worker the key and chain over its IPC channel).
  identity.onRotate((credentials) => void proxy.installCredentials(credentials));
  return identity;
}

main().catch((err: unknown) => {
  const message =
    err instanceof StraitError ? `${err.code}: ${err.message}` : String((err as Error)?.stack ?? err);
  process.stderr.write(`strait-proxy: ${message}\n`);
  process.exit(1);
});
