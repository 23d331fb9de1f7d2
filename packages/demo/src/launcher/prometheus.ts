// Prometheus for `npm start` and the tests: find the binary, write a config that discovers
// targets through the control plane's HTTP service discovery, and build its command line.
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ApiPaths, ProxyAdminPaths } from '@strait/api';
import { stringify } from 'yaml';

/** The `prometheus` binary on PATH, or undefined. */
export function findPrometheus(pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'prometheus');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface PrometheusSettings {
  /** Base URL of the control plane's monitoring port, e.g. http://127.0.0.1:15014 (one per replica). */
  monitoringUrl: string | readonly string[];
  scrapeIntervalSeconds: number;
}

/**
 * The scrape configuration. One job finds every proxy and the control plane through the control
 * plane's HTTP SD (each replica lists itself and the proxies connected to it); a target's `__metrics_path__` label (if the SD gives one) wins over the job's
 * default /stats/prometheus, which is the proxies' path.
 */
export function prometheusConfig(settings: PrometheusSettings): Record<string, unknown> {
  const interval = `${settings.scrapeIntervalSeconds}s`;
  return {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: [
      {
        job_name: 'strait-mesh',
        metrics_path: ProxyAdminPaths.stats,
        http_sd_configs: [settings.monitoringUrl].flat().map((url) => ({
          url: `${url}${ApiPaths.prometheusTargets}`,
          refresh_interval: interval,
        })),
      },
    ],
  };
}

/** Writes <dir>/prometheus.yml and returns the arguments to run Prometheus on `listen` with data in <dir>/data. */
export function preparePrometheus(dir: string, listen: string, settings: PrometheusSettings): string[] {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    `# Written by the Strait demo launcher.\n${stringify(prometheusConfig(settings))}`,
  );
  return [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=${listen}`,
    '--storage.tsdb.retention.time=1d',
  ];
}
