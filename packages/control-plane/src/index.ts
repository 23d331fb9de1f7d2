// @strait/control-plane: the control plane (istiod) as a library, plus the offline validator straitctl uses.

export {
  type ConfigIssue,
  formatIssue,
  issuesError,
  loadTexts,
  parseDocuments,
  resolveKind,
  validateDocument,
} from './config/load.ts';
export { KIND_NAMES, type Kind, type Resource } from './config/schemas.ts';
export { readConfigDir, validateAll } from './config/store.ts';
export { ControlPlane, type ControlPlaneOptions } from './control-plane.ts';
export { prometheusTargets, type TargetGroup } from './telemetry/monitoring.ts';
export { indexMesh, type MeshState } from './translate/mesh-index.ts';
export { snapshotFor, translate, type VersionedSnapshot } from './translate/snapshot.ts';
export type { ProxyStatus, SyncStatus } from './xds/discovery.ts';
