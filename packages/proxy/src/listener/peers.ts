// Resolves a caller's peer header to a workload the control plane knows. The header is only a claim:
// a known workload is labelled as configured, anything else as "unknown", so labels never come from requests.
import { decodePeer, type PeerInfo, peerKey } from '@strait/api';

/** Distinct header values remembered; past it the memo starts over (a flood of forgeries costs only CPU). */
const MEMO_LIMIT = 1024;

export class PeerResolver {
  #peers: ReadonlyMap<string, PeerInfo> | undefined;
  readonly #memo = new Map<string, string>();

  /** The known peer's key (`namespace/workload`) for a raw header value, or '' when it names none. */
  resolve(raw: string, peers: ReadonlyMap<string, PeerInfo>): string {
    if (peers !== this.#peers) {
      this.#peers = peers;
      this.#memo.clear();
    }
    let key = this.#memo.get(raw);
    if (key === undefined) {
      const claimed = decodePeer(raw);
      const candidate = claimed ? peerKey(claimed) : '';
      key = peers.has(candidate) ? candidate : '';
      if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(raw, key);
    }
    return key;
  }
}

/** The lookup table for a snapshot's `peers`. */
export function knownPeers(
  peers: readonly {
    workload: string;
    namespace: string;
    app?: string | undefined;
    version?: string | undefined;
  }[],
): Map<string, PeerInfo> {
  const out = new Map<string, PeerInfo>();
  for (const p of peers) {
    const info = {
      workload: p.workload,
      namespace: p.namespace,
      app: p.app ?? p.workload,
      version: p.version ?? 'unknown',
    };
    out.set(peerKey(info), info);
  }
  return out;
}
