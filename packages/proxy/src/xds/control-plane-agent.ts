// The discovery client's connections to the control plane: a few of its own (never shared with upstream
// traffic), plain HTTP until the proxy holds a mesh certificate, then TLS presenting the newest one. After
// a rotation new requests get a new agent; the old one closes once its requests (the open stream) end.
import type { ProxyWorkloadIdentity } from '../identity/workload-identity.ts';
import { secureUrl } from '../identity/workload-identity.ts';
import { Agent } from '../upstream/undici.ts';

export class ControlPlaneAgent {
  readonly #timeoutMs: number;
  readonly #identity: ProxyWorkloadIdentity | undefined;
  #agent: Agent;
  /** The certificate generation the agent presents (0: plain HTTP). */
  #generation = 0;

  constructor(connectTimeoutMs: number, identity: ProxyWorkloadIdentity | undefined) {
    this.#timeoutMs = connectTimeoutMs;
    this.#identity = identity;
    this.#agent = this.#make(undefined);
  }

  /** A replica's origin as requests now go to it (https once the proxy has a certificate). */
  origin(origin: string): string {
    this.#follow();
    return this.#generation > 0 ? secureUrl(origin) : origin;
  }

  /** The agent for the next request. */
  get agent(): Agent {
    this.#follow();
    return this.#agent;
  }

  close(): Promise<void> {
    return this.#agent.close().catch(() => undefined);
  }

  #follow(): void {
    const current = this.#identity?.current;
    if (!this.#identity || !current || current.generation === this.#generation) return;
    const old = this.#agent;
    this.#agent = this.#make(this.#identity.controlPlaneTls(current));
    this.#generation = current.generation;
    old.close().catch(() => undefined);
  }

  #make(tls: object | undefined): Agent {
    return new Agent({
      connections: 4,
      keepAliveTimeout: 4_000,
      connectTimeout: this.#timeoutMs,
      ...(tls ? { connect: tls } : {}),
    });
  }
}
