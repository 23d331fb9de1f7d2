// @strait/control-plane: the control plane (istiod) as a library. Validation, the resource API's types and
// ProxyStatus are part of the contract and live in @strait/api.
export { readConfigDir } from './config/directory-store.ts';
export { ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
export { prometheusTargets } from './telemetry/monitoring.ts';
export { indexMesh, type MeshState } from './translate/mesh-index.ts';
export { snapshotFor, translate, type VersionedSnapshot } from './translate/snapshot.ts';
