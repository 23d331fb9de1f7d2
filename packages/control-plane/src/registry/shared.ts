// Registrations shared between control-plane replicas: each replica publishes the proxies connected to it
// and sees every other replica's, so a sidecar connected to any replica is an endpoint on all of them.
import type { NodeInfo } from '@strait/api';

/** A proxy registered through some replica. */
export interface SharedRegistration {
  node: NodeInfo;
  /** The replica the proxy's stream is open to. */
  replica: string;
}

export interface SharedRegistrations {
  /** Every registration in the shared store, by proxy id. */
  all(): ReadonlyMap<string, SharedRegistration>;
  /** Registers a proxy connected to this replica (for as long as this replica lives). */
  publish(node: NodeInfo): void;
  /** The proxy's stream to this replica closed: its registration stays (for the grace period) but is no
   * longer written again by this replica. */
  release(id: string): void;
  /** Removes this replica's registration of the proxy (one made through another replica stays). */
  withdraw(id: string): void;
  /** Calls `fn` whenever `all()` changed. */
  onChange(fn: () => void): void;
}
