// The demo mesh's topology as data: which processes make the mesh, their roles, versions and ports.
// `npm start` (the launcher), the tests and compose.yaml all follow this one description.
import { Ports } from '@strait/api';

/** A pod: one app process and its sidecar, sharing one address. */
export interface PodSpec {
  /** Proxy id and pod name, e.g. service-b-v1-1. Also the compose service name of the sidecar. */
  id: string;
  /** The mesh service the pod serves (and the app it runs). */
  service: 'service-a' | 'service-b';
  version: string;
  /** Istio's workload name: <service>-<version>. */
  workload: string;
}

/** A gateway proxy: the ingress (front door) or the egress gateway (the only way out). */
export interface GatewayTopology {
  id: string;
  role: 'ingress' | 'egress';
  workload: string;
  /** The port the gateway listens on for traffic. */
  port: number;
}

/** Something outside the mesh that the egress gateway may reach. */
export interface ExternalSpec {
  name: string;
  /** The host name apps use for it (the ServiceEntry host). */
  host: string;
  /** The port the mesh calls it on (ServiceEntry port). */
  meshPort: number;
  /** The port the stand-in app listens on locally. */
  appPort: number;
}

export const Namespace = 'default';

export const AppPort = Ports.app;

export const ControlPlane = {
  name: 'control-plane',
  discoveryPort: Ports.discovery,
  monitoringPort: Ports.monitoring,
  consolePort: Ports.console,
} as const;

export const Ingress: GatewayTopology = {
  id: 'istio-ingressgateway-1',
  role: 'ingress',
  workload: 'istio-ingressgateway',
  port: Ports.gateway,
};

export const Egress: GatewayTopology = {
  id: 'istio-egressgateway-1',
  role: 'egress',
  workload: 'istio-egressgateway',
  port: Ports.egress,
};

export const Gateways: readonly GatewayTopology[] = [Ingress, Egress];

function pod(service: PodSpec['service'], version: string, replica: number): PodSpec {
  return { id: `${service}-${version}-${replica}`, service, version, workload: `${service}-${version}` };
}

/**
 * service-a in two replicas (so the ingress balances); service-b v1 in two replicas and v2 in one (so
 * the split shows, and losing one v1 pod is survivable: its subset still has a healthy endpoint).
 */
export const Pods: readonly PodSpec[] = [
  pod('service-a', 'v1', 1),
  pod('service-a', 'v1', 2),
  pod('service-b', 'v1', 1),
  pod('service-b', 'v1', 2),
  pod('service-b', 'v2', 1),
];

export const ExternalApi: ExternalSpec = {
  name: 'external-api',
  host: 'api.partner.example',
  meshPort: 80,
  appPort: 8080,
};

/** Where each app calls next: service-a calls service-b, service-b calls the external API. */
export const Upstreams: Record<PodSpec['service'], string> = {
  'service-a': 'http://service-b/',
  'service-b': `http://${ExternalApi.host}/`,
};

export const PrometheusPort = 9090;
export const GrafanaPort = 3000;

/** Every proxy id the mesh runs, gateways first. */
export function proxyIds(): string[] {
  return [...Gateways.map((g) => g.id), ...Pods.map((p) => p.id)];
}

/**
 * Where each part listens. The ports are fixed (docs/architecture.md, "Ports"); only addresses change, so that tests
 * can run the same mesh on addresses of their own while `npm start` runs on the documented ones.
 */
export interface AddressPlan {
  controlPlane: string;
  /** With --ha: the second control-plane replica (same ports as the first). */
  controlPlaneReplica: string;
  /** With --ha: the three etcd members (client port 2379, peer port 2380). */
  etcd: string[];
  ingress: string;
  egress: string;
  externalApi: string;
  prometheus: string;
  /** Pod id -> pod address. */
  pods: Record<string, string>;
}

/** The local addresses `npm start` uses (docs/architecture.md, "Ports"). */
export const LocalPlan: AddressPlan = {
  controlPlane: '127.0.0.1',
  controlPlaneReplica: '127.0.0.2',
  etcd: ['127.0.6.1', '127.0.6.2', '127.0.6.3'],
  ingress: '127.0.0.1',
  egress: '127.0.4.1',
  externalApi: '127.0.5.1',
  prometheus: '127.0.0.1',
  pods: {
    'service-a-v1-1': '127.0.1.1',
    'service-a-v1-2': '127.0.1.2',
    'service-b-v1-1': '127.0.2.1',
    'service-b-v1-2': '127.0.2.2',
    'service-b-v2-1': '127.0.3.1',
  },
};

/**
 * A plan on another part of the loopback range, for tests: 127.<base>.x for the control plane,
 * ingress and Prometheus, 127.<base+1>.x for service-a, +2/+3 for service-b v1/v2, +4 for egress and
 * the external API. The demo's end-to-end test uses base 105 (127.0.105.x … 127.0.109.x).
 */
export function offsetPlan(base: number): AddressPlan {
  if (!Number.isInteger(base) || base < 1 || base > 250) {
    throw new RangeError(`offsetPlan: base must be an integer 1..250, got ${base}`);
  }
  const net = (n: number, host: number) => `127.0.${base + n}.${host}`;
  return {
    controlPlane: net(0, 1),
    controlPlaneReplica: net(0, 2),
    etcd: [net(0, 11), net(0, 12), net(0, 13)],
    ingress: net(0, 1),
    prometheus: net(0, 1),
    egress: net(4, 1),
    externalApi: net(4, 2),
    pods: {
      'service-a-v1-1': net(1, 1),
      'service-a-v1-2': net(1, 2),
      'service-b-v1-1': net(2, 1),
      'service-b-v1-2': net(2, 2),
      'service-b-v2-1': net(3, 1),
    },
  };
}

export function podAddress(plan: AddressPlan, podId: string): string {
  const address = plan.pods[podId];
  if (!address) throw new Error(`address plan has no address for pod ${podId}`);
  return address;
}
