// The monitoring server (15014): /metrics and Prometheus HTTP service discovery of every connected
// proxy's stats endpoint plus the control plane itself.
import { createServer, type Server } from 'node:http';
import {
  ApiPaths,
  Errors,
  type NodeInfo,
  Ports,
  ProxyAdminPaths,
  StraitError,
  type TargetGroup,
  UNKNOWN,
} from '@strait/api';
import { sendError, sendJson } from '../api/http-util.ts';
import type { ControlPlaneTelemetry } from './metrics.ts';

export interface MonitoringOptions {
  telemetry: ControlPlaneTelemetry;
  connectedNodes: () => NodeInfo[];
  /** host:port where Prometheus reaches this control plane's /metrics. */
  selfTarget: () => string;
}

/** host:port of a proxy's /stats/prometheus: its own statsAddress, else its address on the stats port. */
export function statsTargetOf(node: NodeInfo): string {
  return node.statsAddress ?? `${node.address ?? '127.0.0.1'}:${node.ports?.stats ?? Ports.stats}`;
}

export function prometheusTargets(nodes: readonly NodeInfo[], self: string): TargetGroup[] {
  const groups: TargetGroup[] = [];
  for (const node of [...nodes].sort((a, b) => a.id.localeCompare(b.id))) {
    groups.push({
      targets: [statsTargetOf(node)],
      labels: {
        __metrics_path__: ProxyAdminPaths.stats,
        job: 'strait-proxies',
        proxy_id: node.id,
        role: node.role,
        workload: node.workload,
        namespace: node.namespace ?? 'default',
        service: node.service ?? (node.role === 'sidecar' ? UNKNOWN : node.workload),
        version: node.version ?? UNKNOWN,
      },
    });
  }
  groups.push({
    targets: [self],
    labels: {
      __metrics_path__: ApiPaths.metrics,
      job: 'strait-control-plane',
      role: 'control-plane',
      // Istio's older dashboards select istiod's series by its pod label app="istiod".
      app: 'istiod',
      workload: 'istiod',
      namespace: 'default',
      service: 'istiod',
      version: UNKNOWN,
    },
  });
  return groups;
}

export function createMonitoringServer(o: MonitoringOptions): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://monitoring').pathname;
    const run = async () => {
      if (req.method !== 'GET') throw new StraitError(Errors.BAD_REQUEST, 'only GET is served here');
      if (path === ApiPaths.metrics) {
        const body = await o.telemetry.registry.metrics();
        res.writeHead(200, { 'content-type': o.telemetry.registry.contentType });
        res.end(body);
        return;
      }
      if (path === ApiPaths.prometheusTargets) {
        sendJson(res, 200, prometheusTargets(o.connectedNodes(), o.selfTarget()));
        return;
      }
      if (path === ApiPaths.ready) {
        sendJson(res, 200, { ready: true });
        return;
      }
      throw new StraitError(Errors.NOT_FOUND, path);
    };
    run().catch((err: unknown) => sendError(res, err));
  });
}
