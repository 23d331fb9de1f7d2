// Peer metadata: who the calling proxy is, carried in one header as Istio does without mTLS.
// The value is `key=value` pairs separated by `;`, values URI-encoded. Only known keys are kept.

export interface PeerInfo {
  workload: string;
  namespace: string;
  app: string;
  version: string;
}

const KEYS = ['workload', 'namespace', 'app', 'version'] as const;

/** The peer labels of a proxy's node description; the proxy and the control plane derive them alike. */
export function peerOfNode(node: {
  workload: string;
  namespace?: string | undefined;
  service?: string | undefined;
  version?: string | undefined;
}): PeerInfo {
  return {
    workload: node.workload,
    namespace: node.namespace ?? 'default',
    app: node.service ?? node.workload,
    version: node.version ?? 'unknown',
  };
}

/** The key a known peer is looked up by: its namespace and workload. */
export function peerKey(peer: { workload: string; namespace: string }): string {
  return `${peer.namespace}/${peer.workload}`;
}

export function encodePeer(peer: PeerInfo): string {
  return KEYS.map((k) => `${k}=${encodeURIComponent(peer[k])}`).join(';');
}

/** Parses a peer header; anything malformed gives undefined (the caller uses "unknown"). */
export function decodePeer(value: string | undefined): PeerInfo | undefined {
  if (!value || value.length > 512) return undefined;
  const out: Partial<PeerInfo> = {};
  for (const pair of value.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    const key = pair.slice(0, eq) as (typeof KEYS)[number];
    if (!KEYS.includes(key)) continue;
    try {
      out[key] = decodeURIComponent(pair.slice(eq + 1));
    } catch {
      return undefined;
    }
  }
  if (!out.workload) return undefined;
  return {
    workload: out.workload,
    namespace: out.namespace ?? 'default',
    app: out.app ?? out.workload,
    version: out.version ?? 'unknown',
  };
}
