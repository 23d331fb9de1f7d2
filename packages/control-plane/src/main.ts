// The control-plane command: node packages/control-plane/src/main.ts --config-dir DIR | --store etcd://...
// [--replica-id NAME] [--address A] [--port 15010] [--monitoring-port 15014] [--console-port 20001] [--prometheus URL].
// STRAIT_TOKEN (env) protects writes, snapshot reads and the console.
import { parseArgs } from 'node:util';
import { Ports, StraitError } from '@strait/api';
import { pino } from 'pino';
import { ControlPlane } from './control-plane.ts';

const USAGE = `usage: strait-control-plane (--config-dir DIR | --store etcd://HOST:2379,HOST:2379[/PREFIX] [--config-dir SEED])
  [--replica-id NAME] [--lease-ttl-seconds 10]
  [--address 127.0.0.1] [--port 15010] [--monitoring-port 15014]
  [--console-port 20001 | --no-console] [--prometheus URL]
  [--grace-ms 10000] [--warmup-ms 3000] [--push-concurrency 100] [--request-timeout-ms 30000]
  [--advertise-address HOST:PORT] [--state-file FILE | --no-state] [--log-level info]
  --store          etcd://...: replicas share the configuration, registrations and leadership through etcd;
                   "directory" (the default): the config directory is the store
                   (a config directory given too is written to etcd when it holds no configuration yet)
  --replica-id     this replica's name among replicas (default <hostname>-<pid>)
  --lease-ttl-seconds  how long a dead replica's proxies stay registered unless they move to another replica
  --console-port   the mesh console (graph, proxies, config, egress) in a browser
  --prometheus     where the console reads traffic (e.g. http://127.0.0.1:9090); without it the control
                   plane reads every proxy's /stats/prometheus itself
env: STRAIT_TOKEN, STRAIT_CONFIG_DIR, STRAIT_STORE, STRAIT_REPLICA_ID, STRAIT_LEASE_TTL_SECONDS, STRAIT_ADDRESS, STRAIT_PORT, STRAIT_MONITORING_PORT, STRAIT_CONSOLE_PORT,
  STRAIT_PROMETHEUS, STRAIT_REQUEST_TIMEOUT_MS, STRAIT_LOG_LEVEL`;

function fail(message: string): never {
  process.stderr.write(`strait-control-plane: ${message}\n`);
  process.exit(1);
}

function portOf(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${flag} expects a port number, got "${text}"`);
  return n;
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        'config-dir': { type: 'string' },
        store: { type: 'string' },
        'replica-id': { type: 'string' },
        'lease-ttl-seconds': { type: 'string' },
        address: { type: 'string' },
        port: { type: 'string' },
        'monitoring-port': { type: 'string' },
        'console-port': { type: 'string' },
        'no-console': { type: 'boolean' },
        prometheus: { type: 'string' },
        'grace-ms': { type: 'string' },
        'warmup-ms': { type: 'string' },
        'push-concurrency': { type: 'string' },
        'request-timeout-ms': { type: 'string' },
        'advertise-address': { type: 'string' },
        'state-file': { type: 'string' },
        'no-state': { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const env = process.env;
  const configDir = (values['config-dir'] as string | undefined) ?? env.STRAIT_CONFIG_DIR;
  const storeText = (values.store as string | undefined) ?? env.STRAIT_STORE;
  // "directory" (or nothing) is the config directory itself.
  const store = storeText === 'directory' ? undefined : storeText || undefined;
  if (!configDir && !store) fail(`--config-dir or --store is required\n${USAGE}`);
  if (store && !store.startsWith('etcd://'))
    fail(`--store expects etcd://host:port[,host:port...][/prefix] or directory, got "${store}"`);
  const replicaId = (values['replica-id'] as string | undefined) ?? env.STRAIT_REPLICA_ID;
  const ttlText = (values['lease-ttl-seconds'] as string | undefined) ?? env.STRAIT_LEASE_TTL_SECONDS;
  const leaseTtlSeconds = ttlText === undefined ? 10 : Number(ttlText);
  if (!Number.isInteger(leaseTtlSeconds) || leaseTtlSeconds < 2)
    fail(`--lease-ttl-seconds expects whole seconds, at least 2, got "${ttlText}"`);
  const graceText = (values['grace-ms'] as string | undefined) ?? env.STRAIT_GRACE_MS;
  const graceMs = graceText === undefined ? 10_000 : Number(graceText);
  if (!Number.isFinite(graceMs) || graceMs < 0) fail(`--grace-ms expects milliseconds, got "${graceText}"`);
  const warmupText = (values['warmup-ms'] as string | undefined) ?? env.STRAIT_WARMUP_MS;
  const warmupMs = warmupText === undefined ? 3000 : Number(warmupText);
  if (!Number.isFinite(warmupMs) || warmupMs < 0)
    fail(`--warmup-ms expects milliseconds, got "${warmupText}"`);
  const concurrencyText = (values['push-concurrency'] as string | undefined) ?? env.STRAIT_PUSH_CONCURRENCY;
  const pushConcurrency = concurrencyText === undefined ? 100 : Number(concurrencyText);
  if (!Number.isInteger(pushConcurrency) || pushConcurrency < 1)
    fail(`--push-concurrency expects a whole number of at least 1, got "${concurrencyText}"`);
  const timeoutText = (values['request-timeout-ms'] as string | undefined) ?? env.STRAIT_REQUEST_TIMEOUT_MS;
  const requestTimeoutMs = timeoutText === undefined ? 30_000 : Number(timeoutText);
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 1)
    fail(`--request-timeout-ms expects milliseconds, got "${timeoutText}"`);
  const logger = pino({
    name: 'strait-control-plane',
    level: (values['log-level'] as string | undefined) ?? env.STRAIT_LOG_LEVEL ?? 'info',
  });
  const prometheusUrl = (values.prometheus as string | undefined) ?? env.STRAIT_PROMETHEUS;
  if (prometheusUrl !== undefined && !/^https?:\/\/[^/]+/.test(prometheusUrl))
    fail(`--prometheus expects a URL such as http://127.0.0.1:9090, got "${prometheusUrl}"`);
  const consolePort = values['no-console']
    ? undefined
    : portOf(
        (values['console-port'] as string | undefined) ?? env.STRAIT_CONSOLE_PORT,
        Ports.console,
        '--console-port',
      );
  const stateFile = values['no-state'] ? false : ((values['state-file'] as string | undefined) ?? undefined);
  const advertise = (values['advertise-address'] as string | undefined) ?? env.STRAIT_ADVERTISE_ADDRESS;
  const cp = new ControlPlane({
    ...(configDir ? { configDir } : {}),
    ...(store ? { store, leaseTtlSeconds } : {}),
    ...(replicaId ? { replicaId } : {}),
    address: (values.address as string | undefined) ?? env.STRAIT_ADDRESS ?? '127.0.0.1',
    port: portOf((values.port as string | undefined) ?? env.STRAIT_PORT, Ports.discovery, '--port'),
    monitoringPort: portOf(
      (values['monitoring-port'] as string | undefined) ?? env.STRAIT_MONITORING_PORT,
      Ports.monitoring,
      '--monitoring-port',
    ),
    token: env.STRAIT_TOKEN || undefined,
    ...(consolePort !== undefined ? { consolePort } : {}),
    ...(prometheusUrl ? { prometheusUrl } : {}),
    graceMs,
    warmupMs,
    pushConcurrency,
    requestTimeoutMs,
    logger,
    ...(stateFile !== undefined ? { stateFile } : {}),
    ...(advertise ? { advertiseAddress: advertise } : {}),
  });
  try {
    await cp.start();
  } catch (err) {
    if (err instanceof StraitError) fail(`${err.code}: ${err.message}`);
    fail((err as Error).message);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    cp.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

await main();
