// The control-plane command: node packages/control-plane/src/main.ts --config-dir DIR | --store etcd://...
// [--replica-id NAME] [--address A] [--port 15010] [--monitoring-port 15014] [--console-port 20001] [--prometheus URL].
// Secure by default: the API token (STRAIT_TOKEN, else a file made at first start) protects writes, snapshot
// reads and the console; the mesh's CA issues proxies their certificates, a proxy's first CSR needs the
// join token (also made at first start), and discovery needs a proxy's certificate.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CERT_TTL_MS, DEFAULT_TRUST_DOMAIN, Ports, StraitError } from '@strait/api';
import { pino } from 'pino';
import { loadOrCreateToken } from './ca/secrets.ts';
import { ControlPlane } from './control-plane.ts';

const USAGE = `usage: strait-control-plane (--config-dir DIR | --store etcd://HOST:2379,HOST:2379[/PREFIX] [--config-dir SEED])
  [--replica-id NAME] [--lease-ttl-seconds 10]
  [--address 127.0.0.1] [--port 15010] [--monitoring-port 15014]
  [--console-port 20001 | --no-console] [--prometheus URL]
  [--grace-ms 10000] [--warmup-ms 3000] [--push-concurrency 100] [--request-timeout-ms 30000]
  [--advertise-address HOST:PORT] [--state-file FILE | --no-state] [--log-level info]
  [--secrets-dir DIR] [--token-file FILE] [--join-token-file FILE] [--trust-domain cluster.local]
  [--cert-ttl-ms 86400000] [--ca-cert FILE --ca-key FILE]
  --secrets-dir    where the mesh root (ca/, when not the operator's), the API token and the join token are
                   kept, mode 0600 (default <config-dir>/.strait)
  --token-file     the API token for writes and snapshot reads (default <secrets-dir>/api-token; straitctl
                   reads STRAIT_TOKEN_FILE); STRAIT_TOKEN, when set, is the token instead
  --join-token-file  the token a proxy's first CSR needs (default <secrets-dir>/join-token)
  --ca-cert, --ca-key  a root certificate and key of the operator's own, PEM
  --store          etcd://...: replicas share the configuration, registrations and leadership through etcd;
                   "directory" (the default): the config directory is the store
                   (a config directory given too is written to etcd when it holds no configuration yet)
  --replica-id     this replica's name among replicas (default <hostname>-<pid>)
  --lease-ttl-seconds  how long a dead replica's proxies stay registered unless they move to another replica
  --console-port   the mesh console (graph, proxies, config, egress) in a browser
  --prometheus     where the console reads traffic (e.g. http://127.0.0.1:9090); without it the control
                   plane reads every proxy's /stats/prometheus itself
env: STRAIT_TOKEN, STRAIT_TOKEN_FILE, STRAIT_JOIN_TOKEN_FILE, STRAIT_SECRETS_DIR, STRAIT_TRUST_DOMAIN,
  STRAIT_CERT_TTL_MS, STRAIT_CA_CERT, STRAIT_CA_KEY, STRAIT_CONFIG_DIR, STRAIT_STORE, STRAIT_REPLICA_ID, STRAIT_LEASE_TTL_SECONDS, STRAIT_ADDRESS, STRAIT_PORT, STRAIT_MONITORING_PORT, STRAIT_CONSOLE_PORT,
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
        'secrets-dir': { type: 'string' },
        'token-file': { type: 'string' },
        'join-token-file': { type: 'string' },
        'trust-domain': { type: 'string' },
        'cert-ttl-ms': { type: 'string' },
        'ca-cert': { type: 'string' },
        'ca-key': { type: 'string' },
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
  const flag = (name: string, envName: string) =>
    (values[name] as string | undefined) ?? env[envName] ?? undefined;
  // Replicas must share one root and one set of tokens: with etcd and no config directory, say where.
  const secretsDir =
    flag('secrets-dir', 'STRAIT_SECRETS_DIR') ??
    (configDir
      ? join(configDir, '.strait')
      : fail('--secrets-dir is needed with --store and no --config-dir'));
  const certTtlText = flag('cert-ttl-ms', 'STRAIT_CERT_TTL_MS');
  const certTtlMs = certTtlText === undefined ? DEFAULT_CERT_TTL_MS : Number(certTtlText);
  if (!Number.isInteger(certTtlMs) || certTtlMs < 1000)
    fail(`--cert-ttl-ms expects milliseconds (at least 1000), got "${certTtlText}"`);
  const caCertFile = flag('ca-cert', 'STRAIT_CA_CERT');
  const caKeyFile = flag('ca-key', 'STRAIT_CA_KEY');
  if (Boolean(caCertFile) !== Boolean(caKeyFile)) fail('--ca-cert and --ca-key go together');
  let token = env.STRAIT_TOKEN || undefined;
  if (!token) {
    const tokenFile = flag('token-file', 'STRAIT_TOKEN_FILE') ?? join(secretsDir, 'api-token');
    const loaded = await loadOrCreateToken(tokenFile);
    token = loaded.token;
    if (loaded.created)
      logger.info({ file: tokenFile }, 'wrote the API token (straitctl reads STRAIT_TOKEN_FILE)');
  }
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
    token,
    // A token made here guards the API; the console asks for one only when the operator set STRAIT_TOKEN.
    consoleToken: env.STRAIT_TOKEN ? env.STRAIT_TOKEN : false,
    identity: {
      stateDir: secretsDir,
      trustDomain: flag('trust-domain', 'STRAIT_TRUST_DOMAIN') ?? DEFAULT_TRUST_DOMAIN,
      certTtlMs,
      caCertFile,
      caKeyFile,
      joinTokenFile: flag('join-token-file', 'STRAIT_JOIN_TOKEN_FILE'),
    },
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
