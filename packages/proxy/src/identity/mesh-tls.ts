// The proxy's TLS material for mesh hops, from its current workload certificate: the server side for
// inbound and egress listeners (mutual TLS, the caller's certificate checked against the mesh's roots) and
// the client side for upstream connections. A rotation replaces both for new connections; open ones keep
// theirs, so nothing is dropped.
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import type { MeshCredentials } from './credentials.ts';

type ContextListener = (options: SecureContextOptions) => void;

export class MeshTls {
  #credentials: MeshCredentials | undefined;
  #server: SecureContextOptions | undefined;
  #client: SecureContext | undefined;
  readonly #listeners = new Set<ContextListener>();

  /** True once the proxy holds a certificate. */
  get ready(): boolean {
    return this.#credentials !== undefined;
  }

  /** The SPIFFE ID this proxy holds, or undefined. */
  get spiffeId(): string | undefined {
    return this.#credentials?.spiffeId;
  }

  get credentials(): MeshCredentials | undefined {
    return this.#credentials;
  }

  /** Takes a new certificate; servers already made switch to it for their next handshakes. */
  update(credentials: MeshCredentials): void {
    this.#credentials = credentials;
    this.#server = {
      key: credentials.keyPem,
      cert: credentials.chainPem.join('\n'),
      ca: credentials.trustBundle,
      minVersion: 'TLSv1.2',
    };
    this.#client = createSecureContext(this.#server);
    for (const fn of this.#listeners) fn(this.#server);
  }

  /** Settings for a listener's TLS server, or undefined before the first certificate. */
  serverOptions(): SecureContextOptions | undefined {
    return this.#server;
  }

  /** The context upstream mTLS connections present, or undefined before the first certificate. */
  clientContext(): SecureContext | undefined {
    return this.#client;
  }

  /** Calls `fn` with the server settings of every later certificate; returns the unsubscribe. */
  onUpdate(fn: ContextListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}

/** The one workload identity of this proxy process (Envoy's SDS secret `default`). */
export const meshTls = new MeshTls();
