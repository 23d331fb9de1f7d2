// The console's live state: while someone watches (an open event stream, or a recent request) it reads
// the traffic every tick, rebuilds the graph and tables, and hands each new state to its subscribers.
// It reads the control plane only through MeshStatusSource, so the discovery internals can move freely.
import {
  type ConsoleState,
  liveHostsOf,
  type NodeInfo,
  Ports,
  type ProxyDetail,
  type ProxyStatus,
  type SnapshotInput,
} from '@strait/api';
import type { Resource } from '@strait/api/resources';
import type { Logger } from 'pino';
import type { ConfigHistory } from './config-history.ts';
import { buildGraph } from './graph.ts';
import { emptyReading, type TrafficReader, type TrafficReading } from './reading.ts';
import { reasonOf } from './scrape-reader.ts';
import { clusterHealthByProxy, configView, egressView, proxyConfigRows, proxyViews } from './views.ts';

/** What the console reads from the rest of the control plane. */
export interface MeshStatusSource {
  /** Every known proxy's sync status (GET /v1/proxies). */
  proxies(): ProxyStatus[];
  /** The proxies connected now, as they described themselves. */
  connectedNodes(): NodeInfo[];
  /** The snapshot the control plane wants this proxy to run. */
  snapshotOf(id: string): Pick<SnapshotInput, 'listeners' | 'clusters'> | undefined;
  resources(): readonly Resource[];
}

export interface ConsoleServiceOptions {
  status: MeshStatusSource;
  history: ConfigHistory;
  /** Tried in order: the first that answers without problems wins (Prometheus, then the proxies). */
  readers: TrafficReader[];
  /** Time between readings while watched. Default 2000 ms. */
  tickMs?: number;
  /** Keep reading this long after the last request when nobody streams. Default 60 s. */
  lingerMs?: number;
  logger: Logger;
}

export type StateListener = (state: ConsoleState) => void;

export class ConsoleService {
  readonly #o: ConsoleServiceOptions;
  readonly #listeners = new Set<StateListener>();
  #timer: NodeJS.Timeout | undefined;
  #lastWanted = 0;
  #reading: TrafficReading = emptyReading();
  #readingNote = '';
  /** The reader the last reading came from (Prometheus, or the proxies after a fallback). */
  #readerUsed: TrafficReader | undefined;
  #state: ConsoleState | undefined;
  #busy: Promise<void> | undefined;
  #closed = false;

  constructor(options: ConsoleServiceOptions) {
    this.#o = options;
    // A change or refusal shows at once, without waiting for the next tick.
    options.history.onUpdate = () => {
      if (this.#state) this.#publish();
    };
  }

  /** The latest state, reading the traffic first if nothing recent is known. */
  async state(): Promise<ConsoleState> {
    this.#wanted();
    if (!this.#state) await this.#tick();
    return this.#state ?? this.#build();
  }

  /** Calls `listener` with every new state (and the current one at once); returns the unsubscribe. */
  subscribe(listener: StateListener): () => void {
    this.#listeners.add(listener);
    this.#wanted();
    if (this.#state) listener(this.#state);
    else void this.#tick();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** One proxy's routes, clusters and endpoints; endpoint health from its admin port when reachable. */
  async proxyDetail(id: string): Promise<ProxyDetail | undefined> {
    this.#wanted();
    const status = this.#o.status.proxies().find((p) => p.id === id);
    const snapshot = this.#o.status.snapshotOf(id);
    if (!status || !snapshot) return undefined;
    const health = clusterHealthByProxy(this.#reading);
    const [proxy] = proxyViews([status], health);
    const node = this.#o.status.connectedNodes().find((n) => n.id === id);
    let live: ReturnType<typeof liveHostsOf>;
    let note: string | undefined;
    if (!node?.address) note = 'the proxy is not connected; endpoints as the control plane sent them';
    else {
      const url = `http://${node.adminAddress ?? `${node.address}:${node.ports?.admin ?? Ports.admin}`}/clusters`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1500) });
        live = liveHostsOf(await res.json());
        if (!live) note = `${url} answered something else than a cluster list`;
      } catch (err) {
        note = `the proxy's admin port (${url}) is not reachable from the control plane (${reasonOf(err)}); endpoint health is the control plane's, the counts are the proxy's own`;
      }
    }
    const rows = proxyConfigRows(snapshot, health.get(id) ?? [], live);
    const detail: ProxyDetail = {
      proxy: proxy as ProxyDetail['proxy'],
      routes: rows.routes,
      clusters: rows.clusters,
      endpointSource: live ? 'proxy' : 'control-plane',
    };
    if (note) detail.endpointNote = note;
    return detail;
  }

  #wanted(): void {
    this.#lastWanted = Date.now();
    if (!this.#timer && !this.#closed) {
      this.#timer = setInterval(() => {
        const linger = this.#o.lingerMs ?? 60_000;
        if (this.#listeners.size === 0 && Date.now() - this.#lastWanted > linger) {
          clearInterval(this.#timer);
          this.#timer = undefined;
          return;
        }
        void this.#tick();
      }, this.#o.tickMs ?? 2000);
      this.#timer.unref();
    }
  }

  /** Reads the traffic (one reading at a time) and publishes the new state. */
  #tick(): Promise<void> {
    this.#busy ??= (async () => {
      try {
        await this.#read();
        this.#publish();
      } catch (err) {
        this.#o.logger.warn({ err }, 'console: reading the mesh failed');
      } finally {
        this.#busy = undefined;
      }
    })();
    return this.#busy;
  }

  async #read(): Promise<void> {
    const problems: string[] = [];
    for (const reader of this.#o.readers) {
      const reading = await reader.read();
      const failed =
        reading.problems.length > 0 && reading.requests.length === 0 && reading.healthyEndpoints.length === 0;
      if (!failed || reader === this.#o.readers.at(-1)) {
        this.#reading = { ...reading, problems: [...problems, ...reading.problems] };
        this.#readingNote = reader.describe();
        this.#readerUsed = reader;
        return;
      }
      problems.push(...reading.problems.map((p) => `${p}; falling back`));
    }
  }

  #publish(): void {
    this.#state = this.#build();
    for (const listener of this.#listeners) listener(this.#state);
  }

  #build(): ConsoleState {
    const status = this.#o.status;
    const resources = status.resources();
    const nodes = status.connectedNodes();
    const reading = this.#reading;
    const reader = this.#readerUsed ?? this.#o.readers.at(-1);
    return {
      at: new Date().toISOString(),
      traffic: {
        source: reader?.source ?? 'proxies',
        detail: this.#readingNote || (reader?.describe() ?? ''),
        windowSeconds: reader?.windowSeconds ?? 0,
        problems: reading.problems,
      },
      graph: buildGraph({ reading, proxies: nodes, resources }),
      proxies: proxyViews(status.proxies(), clusterHealthByProxy(reading)),
      config: configView(resources, this.#o.history),
      egress: egressView(resources, reading),
      tryCommand: tryCommandFor(nodes),
    };
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
    this.#o.history.close();
    for (const r of this.#o.readers) r.close();
  }
}

/** `curl localhost:8080/` when the ingress listens on loopback or everywhere, else its own address. */
export function tryCommandFor(nodes: readonly NodeInfo[]): string {
  const ingress = nodes.find((n) => n.role === 'ingress');
  const port = ingress?.ports?.gateway ?? Ports.gateway;
  const address = ingress?.address;
  const host =
    !address || address === '0.0.0.0' || address === '127.0.0.1' || address === '::' ? 'localhost' : address;
  return `curl ${host}:${port}/`;
}
