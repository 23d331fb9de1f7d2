// The control plane's Prometheus metrics, declared in one place: istiod's names, labels and buckets wherever
// Strait has the same event (so Istio's control-plane dashboard works), plus Strait's own config metrics.
import { IstioMetrics, ControlPlaneMetrics as M } from '@strait/api';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { StoreHealth } from '../config/types.ts';

export const BUILD_TAG = '0.1.0';

/** What the replica metrics read at each scrape. */
export interface ReplicaView {
  replica: string;
  isLeader: boolean;
  health: StoreHealth;
}

/** istiod's buckets for push and send times, with finer steps below 10 ms where Strait's pushes fall. */
const PUSH_SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 1, 3, 5, 10, 20, 30];
/** istiod's buckets for configuration sizes: 10 KB, 1 MB, 4 MB (gRPC's default limit), 10 MB, 40 MB. */
const CONFIG_BYTES = [1, 10_000, 1_000_000, 4_000_000, 10_000_000, 40_000_000];

export class ControlPlaneTelemetry {
  readonly registry = new Registry();
  readonly connected: Gauge;
  readonly pushes: Counter<'type'>;
  readonly pushTime: Histogram<'type'>;
  readonly sendTime: Histogram;
  readonly configSize: Histogram<'type'>;
  readonly queueTime: Histogram;
  readonly convergence: Histogram;
  readonly debounceTime: Histogram;
  readonly pushContextInit: Histogram;
  readonly pushTriggers: Counter<'type'>;
  readonly inboundUpdates: Counter<'type'>;
  readonly rejects: Counter<'type'>;
  readonly expiredNonces: Counter<'type'>;
  readonly writeTimeouts: Counter;
  readonly internalErrors: Counter;
  readonly services: Gauge;
  readonly virtualServices: Gauge;
  readonly validationPassed: Counter<'group' | 'version' | 'resource'>;
  readonly validationFailed: Counter<'group' | 'version' | 'resource' | 'reason'>;
  readonly validationFailures: Counter<'source'>;
  readonly resources: Gauge<'kind'>;
  readonly csrs: Counter;
  readonly certsIssued: Counter;
  readonly rootExpiry: Gauge;
  readonly storeRelists: Counter;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.connected = new Gauge({
      name: M.xdsConnected,
      help: 'Number of proxies connected to this control plane.',
      registers,
    });
    this.pushes = new Counter({
      name: M.xdsPushes,
      help: 'Pushes to one proxy, by the type of resources they carried (lds, rds, cds, eds).',
      labelNames: ['type'],
      registers,
    });
    this.pushTime = new Histogram({
      name: M.xdsPushTime,
      help: 'Seconds from a proxy taking its turn in the push window to its message reaching the kernel, by type.',
      labelNames: ['type'],
      buckets: PUSH_SECONDS,
      registers,
    });
    this.sendTime = new Histogram({
      name: M.xdsSendTime,
      help: 'Seconds to write one message to a proxy until the kernel has it.',
      buckets: PUSH_SECONDS,
      registers,
    });
    this.configSize = new Histogram({
      name: M.xdsConfigSize,
      help: 'Bytes of the resources of each type in one push to one proxy.',
      labelNames: ['type'],
      buckets: CONFIG_BYTES,
      registers,
    });
    this.queueTime = new Histogram({
      name: M.proxyQueueTime,
      help: 'Seconds a proxy waits in the push window before its push is written.',
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 3, 5, 10, 20, 30],
      registers,
    });
    this.convergence = new Histogram({
      name: M.convergenceTime,
      help: 'Seconds from a configuration or registry change to the proxy ACKing the config that carries it.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 3, 5, 10, 20, 30],
      registers,
    });
    this.debounceTime = new Histogram({
      name: M.debounceTime,
      help: 'Seconds from the first change of a push entering the debounce to the push starting.',
      buckets: [0.01, 0.1, 1, 3, 5, 10, 20, 30],
      registers,
    });
    this.pushContextInit = new Histogram({
      name: M.pushContextInitTime,
      help: 'Seconds to index the configuration and registry for a new generation of translations.',
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 3, 5],
      registers,
    });
    this.pushTriggers = new Counter({
      name: M.pushTriggers,
      help: 'Changes that triggered a push, by reason (config, endpoint, proxy).',
      labelNames: ['type'],
      registers,
    });
    this.inboundUpdates = new Counter({
      name: M.inboundUpdates,
      help: 'Updates received: configuration changes (config) and registry changes (eds).',
      labelNames: ['type'],
      registers,
    });
    this.rejects = new Counter({
      name: M.xdsRejects,
      help: 'Resources NACKed by proxies, by type.',
      labelNames: ['type'],
      registers,
    });
    this.expiredNonces = new Counter({
      name: M.xdsExpiredNonce,
      help: 'ACKs and NACKs answering a message that is no longer the latest sent to that proxy, by type.',
      labelNames: ['type'],
      registers,
    });
    this.writeTimeouts = new Counter({
      name: M.xdsWriteTimeouts,
      help: 'Discovery streams closed because the proxy stopped reading them.',
      registers,
    });
    this.internalErrors = new Counter({
      name: M.xdsInternalErrors,
      help: 'Translations that failed for a proxy (it keeps the config it has).',
      registers,
    });
    this.services = new Gauge({
      name: M.services,
      help: 'Services known to the control plane (mesh services and external hosts).',
      registers,
    });
    this.virtualServices = new Gauge({
      name: M.virtualServices,
      help: 'VirtualServices known to the control plane.',
      registers,
    });
    this.validationPassed = new Counter({
      name: M.validationPassed,
      help: 'Resources that passed validation in an accepted change.',
      labelNames: ['group', 'version', 'resource'],
      registers,
    });
    this.validationFailed = new Counter({
      name: M.validationFailed,
      help: 'Resources refused by validation, by reason.',
      labelNames: ['group', 'version', 'resource', 'reason'],
      registers,
    });
    this.validationFailures = new Counter({
      name: M.configValidationFailures,
      help: 'Configuration changes refused by validation, by where they came from (api, file, startup).',
      labelNames: ['source'],
      registers,
    });
    this.resources = new Gauge({
      name: M.resources,
      help: 'Configuration resources currently served, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.storeRelists = new Counter({
      name: M.storeRelists,
      help: 'Lists of the whole configuration store after the first (after etcd compacted a watch away).',
      registers,
    });
    this.csrs = new Counter({
      name: M.caCsrCount,
      help: 'Certificate signing requests the CA received.',
      registers,
    });
    this.certsIssued = new Counter({
      name: M.caIssued,
      help: 'Certificates the CA issued.',
      registers,
    });
    this.rootExpiry = new Gauge({
      name: M.caRootExpiry,
      help: "When the CA's root certificate expires, seconds since the epoch.",
      registers,
    });
    const build = new Gauge({
      name: IstioMetrics.build,
      help: 'Istio component build info.',
      labelNames: ['component', 'tag'],
      registers,
    });
    build.set({ component: 'pilot', tag: BUILD_TAG }, 1);
    // Series that exist from the start, so dashboards show a zero rather than nothing.
    for (const type of ['lds', 'rds', 'cds', 'eds']) {
      this.pushes.inc({ type }, 0);
      this.rejects.inc({ type }, 0);
    }
    for (const type of ['config', 'endpoint', 'proxy']) this.pushTriggers.inc({ type }, 0);
    for (const type of ['config', 'eds']) this.inboundUpdates.inc({ type }, 0);
  }

  /** Exports the replica's identity, leadership and store health, read at every scrape. */
  trackReplica(read: () => ReplicaView): void {
    const registers = [this.registry];
    new Gauge({
      name: M.replicaInfo,
      help: 'This control-plane replica: its name and the configuration store it uses (always 1).',
      labelNames: ['replica', 'store'],
      registers,
      collect() {
        const view = read();
        this.reset();
        this.set({ replica: view.replica, store: view.health.store }, 1);
      },
    });
    new Gauge({
      name: M.leader,
      help: 'Whether this replica is the elected leader (1) or not (0).',
      labelNames: ['replica'],
      registers,
      collect() {
        const view = read();
        this.reset();
        this.set({ replica: view.replica }, view.isLeader ? 1 : 0);
      },
    });
    new Gauge({
      name: M.storeUp,
      help: 'Whether the configuration store takes writes and this replica follows its changes (1) or not (0).',
      labelNames: ['store'],
      registers,
      collect() {
        const { health } = read();
        this.reset();
        this.set({ store: health.store }, health.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: M.storeWatchLag,
      help: "Revisions of the store this replica had not seen when it last looked (0 when it follows etcd's watch closely).",
      registers,
      collect() {
        this.set(read().health.watchLagRevisions ?? 0);
      },
    });
    new Gauge({
      name: M.storeRevision,
      help: 'The store revision this replica has seen every change up to.',
      registers,
      collect() {
        this.set(read().health.revision ?? 0);
      },
    });
  }

  setResourceCounts(counts: Record<string, number>): void {
    this.resources.reset();
    for (const [kind, n] of Object.entries(counts)) this.resources.set({ kind }, n);
    this.virtualServices.set(counts.VirtualService ?? 0);
  }
}
