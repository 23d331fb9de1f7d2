// @strait/demo: the demo mesh's topology, its launcher and its apps, for tests and tools.
export * from './apps/external-api.ts';
export * from './apps/mesh-service.ts';
export * from './apps/traffic.ts';
export * from './launcher/mesh.ts';
export * from './launcher/mesh-config.ts';
export * from './launcher/prometheus.ts';
export * from './topology.ts';
