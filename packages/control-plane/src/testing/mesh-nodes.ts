// The proxies of the small test mesh (testdata/mesh), as their discovery streams describe them.
import type { NodeInfo } from '@strait/api';

export const MESH_NODES: NodeInfo[] = [
  {
    id: 'istio-ingressgateway-1',
    role: 'ingress',
    workload: 'istio-ingressgateway',
    namespace: 'default',
    address: '127.0.0.1',
  },
  {
    id: 'service-a-v1-1',
    role: 'sidecar',
    workload: 'service-a-v1',
    namespace: 'default',
    service: 'service-a',
    version: 'v1',
    address: '127.0.1.1',
    appAddress: '127.0.1.1',
    appPort: 8080,
    ports: { inbound: 15006, outbound: 15001, admin: 15000, stats: 15090 },
    statsAddress: '127.0.1.1:15090',
  },
  {
    id: 'service-a-v1-2',
    role: 'sidecar',
    workload: 'service-a-v1',
    namespace: 'default',
    service: 'service-a',
    version: 'v1',
    address: '127.0.1.2',
  },
  {
    id: 'service-b-v1-1',
    role: 'sidecar',
    workload: 'service-b-v1',
    namespace: 'default',
    service: 'service-b',
    version: 'v1',
    address: '127.0.2.1',
  },
  {
    id: 'service-b-v2-1',
    role: 'sidecar',
    workload: 'service-b-v2',
    namespace: 'default',
    service: 'service-b',
    version: 'v2',
    address: '127.0.3.1',
  },
  {
    id: 'istio-egressgateway-1',
    role: 'egress',
    workload: 'istio-egressgateway',
    namespace: 'default',
    address: '127.0.4.1',
  },
];
