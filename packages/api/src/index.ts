// @strait/api: the types and names every other package shares (snapshot, protocol, errors, metrics).
export * from './console.ts';
export * from './errors.ts';
export * from './metrics.ts';
export * from './peer.ts';
export * from './ports.ts';
export * from './proxy-config.ts';
export * from './runtime.ts';
export * from './snapshot.ts';
export * from './validate.ts';
export * from './xds.ts';
