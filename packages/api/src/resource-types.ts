// The kinds of discovery resources and istiod's metric name for each: plain constants with no Node imports,
// so browser code (the console) can type-check against what refers to them.

export const RESOURCE_TYPES = [
  'listener',
  'routes',
  'cluster',
  'endpoints',
  'egress',
  'telemetry',
  'peers',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** istiod's name for each type in its metrics' `type` label; the proxy-wide settings travel with listeners. */
export const XDS_METRIC_TYPE = {
  listener: 'lds',
  routes: 'rds',
  cluster: 'cds',
  endpoints: 'eds',
  egress: 'lds',
  telemetry: 'lds',
  peers: 'lds',
} as const satisfies Record<ResourceType, string>;
export type XdsMetricType = (typeof XDS_METRIC_TYPE)[ResourceType];

/** The names of the proxy-wide resources (there is one of each). */
export const EGRESS_RESOURCE_NAME = 'egress';
export const TELEMETRY_RESOURCE_NAME = 'telemetry';
export const PEERS_RESOURCE_NAME = 'peers';
