// The ports of DESIGN §2, Istio's own numbers.

export const Ports = {
  gateway: 8080,
  app: 8080,
  sidecarOutbound: 15001,
  sidecarInbound: 15006,
  egress: 15443,
  admin: 15000,
  stats: 15090,
  ready: 15021,
  discovery: 15010,
  monitoring: 15014,
  /** The mesh console (Kiali's port). */
  console: 20001,
} as const;
