// The proxy's mesh identity over time (the job of Istio's pilot-agent): gets a first certificate from the
// control plane's CA with the join token, renews it at half its life over TLS with the current one, and
// tells listeners of each new one so TLS contexts can be swapped without a restart (setSecureContext).
import {
  ApiPaths,
  type CertificateResponse,
  CONTROL_PLANE_IDENTITY,
  identityOfNode,
  type NodeInfo,
  spiffeId,
} from '@strait/api';
import type pino from 'pino';
import { Agent } from '../upstream/undici.ts';
import { expectSpiffeId, type MeshCredentials } from './credentials.ts';
import { makeKeyAndCsr } from './csr.ts';

export interface WorkloadIdentityOptions {
  /** The control plane's base URLs (http://…), tried in order; renewals go to the same ports over TLS. */
  urls: readonly string[];
  node: NodeInfo;
  trustDomain: string;
  /** The mesh join token, read afresh each time a first certificate is needed. */
  joinToken: () => Promise<string | undefined>;
  logger: pino.Logger;
  /** Renew when this share of the lifetime has passed. Default 0.5 (Istio's default). */
  renewAt?: number;
  requestTimeoutMs?: number;
}

type RotationListener = (credentials: MeshCredentials) => void;

/** The wait after a failed renewal before the next try. */
const RETRY_MS = 2000;

export class ProxyWorkloadIdentity {
  readonly #o: WorkloadIdentityOptions;
  readonly #spiffeId: string;
  readonly #listeners: RotationListener[] = [];
  #current: MeshCredentials | undefined;
  #pending: Promise<MeshCredentials> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #generation = 0;
  #stopped = false;

  constructor(options: WorkloadIdentityOptions) {
    this.#o = options;
    this.#spiffeId = spiffeId(identityOfNode(options.node, options.trustDomain));
  }

  /** The SPIFFE ID this proxy holds (and asks for). */
  get spiffeId(): string {
    return this.#spiffeId;
  }

  /** The control plane's own SPIFFE ID, which the proxy checks on every TLS call to it. */
  get controlPlaneId(): string {
    return spiffeId({ trustDomain: this.#o.trustDomain, ...CONTROL_PLANE_IDENTITY });
  }

  get current(): MeshCredentials | undefined {
    return this.#current;
  }

  /** Called with every new certificate, the first included. */
  onRotate(fn: RotationListener): void {
    this.#listeners.push(fn);
  }

  /** The current credentials, after getting a first certificate when there is none (or it expired). */
  async ensure(): Promise<MeshCredentials> {
    const current = this.#current;
    if (current && current.expiresAt > Date.now()) return current;
    return this.#refresh();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** One certificate request at a time; callers meanwhile share its outcome. */
  #refresh(): Promise<MeshCredentials> {
    this.#pending ??= this.#request().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #request(): Promise<MeshCredentials> {
    const { keyPem, csrPem } = await makeKeyAndCsr(this.#spiffeId);
    const current = this.#current && this.#current.expiresAt > Date.now() ? this.#current : undefined;
    const answer = current ? await this.#renew(current, csrPem) : await this.#first(csrPem);
    const credentials: MeshCredentials = {
      keyPem,
      chainPem: answer.certificateChain,
      trustBundle: answer.trustBundle,
      spiffeId: this.#spiffeId,
      issuedAt: Date.now(),
      expiresAt: answer.expiresAt,
      generation: ++this.#generation,
    };
    this.#current = credentials;
    this.#o.logger.info(
      {
        spiffeId: this.#spiffeId,
        expiresAt: new Date(answer.expiresAt).toISOString(),
        renewal: current !== undefined,
      },
      'mesh certificate issued',
    );
    this.#schedule(credentials);
    for (const fn of this.#listeners) {
      try {
        fn(credentials);
      } catch (err) {
        this.#o.logger.error({ err }, 'a certificate rotation listener threw');
      }
    }
    return credentials;
  }

  #schedule(credentials: MeshCredentials): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    const life = credentials.expiresAt - credentials.issuedAt;
    const at = credentials.issuedAt + life * (this.#o.renewAt ?? 0.5);
    this.#timer = setTimeout(() => this.#renewNow(), Math.max(0, at - Date.now()));
    this.#timer.unref();
  }

  #renewNow(): void {
    this.#refresh().catch((err: unknown) => {
      this.#o.logger.warn({ err: (err as Error).message }, 'mesh certificate renewal failed; trying again');
      if (this.#stopped) return;
      this.#timer = setTimeout(() => this.#renewNow(), RETRY_MS);
      this.#timer.unref();
    });
  }

  /** The first certificate: plain HTTP, admitted by the join token. */
  async #first(csrPem: string): Promise<CertificateResponse> {
    const token = await this.#o.joinToken();
    if (!token)
      throw new Error('no mesh join token: give the proxy --join-token-file (or STRAIT_JOIN_TOKEN_FILE)');
    return this.#anyReplica(undefined, (url) => url, { authorization: `Bearer ${token}` }, csrPem);
  }

  /** A renewal: TLS to the control plane (checked to be it), presenting the current certificate. */
  async #renew(current: MeshCredentials, csrPem: string): Promise<CertificateResponse> {
    return this.#anyReplica(this.controlPlaneTls(current), secureUrl, {}, csrPem);
  }

  /** Asks each control plane replica in turn until one answers. */
  async #anyReplica(
    tls: object | undefined,
    urlOf: (url: string) => string,
    headers: Record<string, string>,
    csrPem: string,
  ): Promise<CertificateResponse> {
    const agent = new Agent({ connections: 1, ...(tls ? { connect: tls } : {}) });
    let last: unknown;
    try {
      for (const url of this.#o.urls) {
        try {
          return await this.#post(agent, urlOf(url), headers, csrPem);
        } catch (err) {
          last = err;
        }
      }
      throw last ?? new Error('no control plane to ask');
    } finally {
      await agent.close().catch(() => undefined);
    }
  }

  /** TLS options for calls to the control plane: present `credentials`, expect the control plane's identity. */
  controlPlaneTls(credentials: MeshCredentials) {
    return {
      key: credentials.keyPem,
      cert: credentials.chainPem.join('\n'),
      ca: credentials.trustBundle,
      checkServerIdentity: expectSpiffeId(this.controlPlaneId),
      servername: '',
    };
  }

  async #post(agent: Agent, base: string, headers: Record<string, string>, csrPem: string) {
    const url = new URL(`${base.replace(/\/+$/, '')}${ApiPaths.certificates}`);
    const timeout = this.#o.requestTimeoutMs ?? 10_000;
    const res = await agent.request({
      origin: url.origin,
      path: url.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ csr: csrPem }),
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200)
      throw new Error(
        `the control plane refused the certificate request (${res.statusCode}): ${text.slice(0, 300)}`,
      );
    return certificateResponse(JSON.parse(text));
  }
}

/** The CA's answer, checked by hand (the proxy does not load the schema library). */
function certificateResponse(value: unknown): CertificateResponse {
  const v = value as Partial<CertificateResponse> | null;
  const pems = (list: unknown) =>
    Array.isArray(list) &&
    list.length > 0 &&
    list.every((p) => typeof p === 'string' && p.includes('BEGIN CERTIFICATE'));
  if (!v || !pems(v.certificateChain) || !pems(v.trustBundle) || typeof v.expiresAt !== 'number')
    throw new Error(
      'the control plane answered the certificate request with something that is not a certificate',
    );
  return v as CertificateResponse;
}

/** The control plane's URL with https: the same port takes TLS (it tells the two apart by the first byte). */
export function secureUrl(url: string): string {
  return url.replace(/^http:/i, 'https:');
}
