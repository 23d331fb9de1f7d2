// The proxy's statistics for its connection to the control plane, as Envoy reports its `xds-grpc` cluster:
// the stream open or not, streams opened, failed attempts, bytes each way. Read from the discovery client
// when Prometheus scrapes; nothing on the request path touches them.
import { DiscoveryClusterMetrics as M } from '@strait/api';
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the discovery client counts (DiscoveryClient's `counters` and `status.connected`). */
export interface DiscoveryStatsSource {
  connected: boolean;
  streamsOpened: number;
  connectFailures: number;
  bytesReceived: number;
  bytesSent: number;
}

/** Registers the `envoy_cluster_upstream_cx_*{cluster_name="xds-grpc"}` series on `registry`. */
export function registerDiscoveryStats(registry: Registry, read: () => DiscoveryStatsSource): void {
  const labels = { cluster_name: M.clusterName };
  const labelNames = ['cluster_name'];
  new Gauge({
    name: M.connectionsActive,
    help: 'Open connections to the control plane (1 while the discovery stream is up).',
    labelNames,
    registers: [registry],
    collect() {
      this.set(labels, read().connected ? 1 : 0);
    },
  });
  const counter = (name: string, help: string, pick: (s: DiscoveryStatsSource) => number) => {
    let seen = 0;
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        const now = pick(read());
        this.inc(labels, Math.max(0, now - seen));
        seen = Math.max(seen, now);
      },
    });
  };
  counter(M.connectionsTotal, 'Discovery streams opened to the control plane.', (s) => s.streamsOpened);
  counter(M.connectFailures, 'Attempts to open a discovery stream that failed.', (s) => s.connectFailures);
  counter(M.bytesReceived, 'Bytes received on discovery streams.', (s) => s.bytesReceived);
  counter(
    M.bytesSent,
    'Bytes sent to the control plane (stream requests, ACKs and NACKs).',
    (s) => s.bytesSent,
  );
}
