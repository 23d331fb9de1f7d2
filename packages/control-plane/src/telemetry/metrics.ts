// The control plane's Prometheus metrics, with istiod's names where istiod has one.
import { ControlPlaneMetrics, IstioMetrics } from '@strait/api';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const BUILD_TAG = '0.1.0';

export class ControlPlaneTelemetry {
  readonly registry = new Registry();
  readonly connected: Gauge;
  readonly pushes: Counter<'type'>;
  readonly convergence: Histogram;
  readonly rejects: Counter;
  readonly validationFailures: Counter<'source'>;
  readonly resources: Gauge<'kind'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.connected = new Gauge({
      name: ControlPlaneMetrics.xdsConnected,
      help: 'Number of proxies connected to this control plane.',
      registers: [this.registry],
    });
    this.pushes = new Counter({
      name: ControlPlaneMetrics.xdsPushes,
      help: 'Snapshot pushes, by the part of the config that changed (lds, rds, cds, eds).',
      labelNames: ['type'],
      registers: [this.registry],
    });
    this.convergence = new Histogram({
      name: ControlPlaneMetrics.convergenceTime,
      help: 'Seconds from a configuration or registry change to the proxy ACKing the snapshot that carries it.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 3, 5, 10, 20, 30],
      registers: [this.registry],
    });
    this.rejects = new Counter({
      name: ControlPlaneMetrics.xdsRejects,
      help: 'Snapshots NACKed by proxies.',
      registers: [this.registry],
    });
    this.validationFailures = new Counter({
      name: ControlPlaneMetrics.configValidationFailures,
      help: 'Configuration changes refused by validation, by where they came from (api, file, startup).',
      labelNames: ['source'],
      registers: [this.registry],
    });
    this.resources = new Gauge({
      name: ControlPlaneMetrics.resources,
      help: 'Configuration resources currently served, by kind.',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    const build = new Gauge({
      name: IstioMetrics.build,
      help: 'Istio component build info.',
      labelNames: ['component', 'tag'],
      registers: [this.registry],
    });
    build.set({ component: 'pilot', tag: BUILD_TAG }, 1);
    for (const type of ['lds', 'rds', 'cds', 'eds']) this.pushes.inc({ type }, 0);
  }

  setResourceCounts(counts: Record<string, number>): void {
    this.resources.reset();
    for (const [kind, n] of Object.entries(counts)) this.resources.set({ kind }, n);
  }
}
