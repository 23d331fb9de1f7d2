// One worker of a --workers proxy: its own StraitProxy serving the data listeners (its own reusePort
// sockets), configured and stopped only by the primary over IPC. No admin, stats or discovery here.
import cluster from 'node:cluster';
import pino from 'pino';
import type { ProxyOptions } from '../config/options.ts';
import { StraitProxy } from '../proxy.ts';
import { answer, isRequest, type ReplyMessage, type StartedMessage, type WorkerCommand } from './ipc.ts';
import { workerMetrics } from './metrics.ts';
import { shareLimits } from './rate-share.ts';

/** Set by the primary in each worker's environment: the worker's slot, 0..N-1. */
export const WORKER_INDEX_ENV = 'STRAIT_WORKER_INDEX';

/** True in a process the --workers primary forked (the same script runs in both). */
export function isWorkerProcess(): boolean {
  return cluster.isWorker && process.env[WORKER_INDEX_ENV] !== undefined;
}

function send(message: ReplyMessage | StartedMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

/**
 * Runs the worker until the primary tells it to drain (or goes away); then the process exits.
 * Everything below the listeners is the worker's own: connection pools, active health checks and outlier
 * detection (so N workers probe N times as often). Local rate limits hold per proxy: each worker applies its
 * share of every token bucket (rate-share.ts).
 */
export function runWorker(options: ProxyOptions): void {
  const index = Number(process.env[WORKER_INDEX_ENV]);
  const logger = pino({ level: options.logLevel, base: { proxy: options.id, worker: index } });
  const proxy = new StraitProxy(options, logger);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= proxy.stop();
    return stopping;
  };

  const handle = async (command: WorkerCommand): Promise<unknown> => {
    switch (command.kind) {
      case 'apply':
        await proxy.apply(shareLimits(command.snapshot, index, options.workers));
        return { version: command.snapshot.version };
      case 'credentials':
        return proxy.installCredentials(command.credentials);
      case 'clusters':
        return proxy.ctx.clusters.dump();
      case 'metrics':
        return workerMetrics(proxy.telemetry.registry);
      case 'log-level':
        if (!Object.hasOwn(logger.levels.values, command.level)) return false;
        logger.level = command.level;
        return true;
      case 'drain':
        await stop();
        return { drained: true };
    }
  };

  process.on('message', (message: unknown) => {
    if (!isRequest(message)) return;
    void answer(message, handle).then(async (reply) => {
      await send(reply);
      if (message.command.kind === 'drain') process.exit(reply.ok ? 0 : 1);
    });
  });
  process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  // The primary decides when workers stop (a terminal's Ctrl-C reaches the whole process group).
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  // A primary that died without telling us: finish what is in flight and leave.
  process.on('disconnect', () => {
    logger.warn('primary went away; draining');
    void stop().finally(() => process.exit(0));
  });
  void send({ strait: 'started', pid: process.pid });
  logger.debug({ pid: process.pid }, 'worker started');
}
