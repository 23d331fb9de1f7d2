// @strait/api: the only contract between packages: the snapshot, the discovery protocol, the resource API,
// ports, errors and metric names. The configuration resources and their validation are @strait/api/resources
// (kept apart so that a proxy, which never reads them, never loads their YAML parser); the console's JSON is
// also @strait/api/console, free of Node imports for the browser.
export * from './compiled-validation.ts';
export * from './console.ts';
export * from './credentials.ts';
export * from './discovery-resources.ts';
export * from './discovery-schemas.ts';
export * from './errors.ts';
export * from './identity.ts';
export * from './lines.ts';
export * from './metrics.ts';
export * from './peer.ts';
export * from './ports.ts';
export * from './protocol.ts';
export * from './proxy-admin.ts';
export * from './proxy-config.ts';
export * from './resource-api.ts';
export * from './resource-types.ts';
export * from './runtime.ts';
export * from './snapshot.ts';
export * from './traces.ts';
export * from './validate.ts';
export * from './xds.ts';
