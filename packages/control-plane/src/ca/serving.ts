// The control plane's own certificate (spiffe://<td>/ns/strait-system/sa/control-plane), issued by its CA
// for a key made here, and renewed at half its life: proxies that hold a certificate talk to the API port
// over TLS and check this identity, as Envoy checks istiod's.
import { KeyObject, webcrypto } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import { CONTROL_PLANE_IDENTITY } from '@strait/api';
import type { Logger } from 'pino';
import type { CertificateAuthority } from './authority.ts';
import { EC_P256 } from './root.ts';

export class ServingCertificate {
  readonly #ca: CertificateAuthority;
  readonly #logger: Logger;
  #options: SecureContextOptions | undefined;
  readonly #listeners: ((options: SecureContextOptions) => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(ca: CertificateAuthority, logger: Logger) {
    this.#ca = ca;
    this.#logger = logger;
  }

  /** The TLS settings new connections use (the newest certificate). */
  get options(): SecureContextOptions {
    if (!this.#options) throw new Error('the serving certificate is not issued yet');
    return this.#options;
  }

  /** Called with the settings of each renewed certificate. */
  onRenew(fn: (options: SecureContextOptions) => void): void {
    this.#listeners.push(fn);
  }

  /** Issues the first certificate; later ones follow at half-life by themselves. */
  async start(): Promise<void> {
    const keys = (await webcrypto.subtle.generateKey(EC_P256, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const identity = { trustDomain: this.#ca.trustDomain, ...CONTROL_PLANE_IDENTITY };
    const issued = await this.#ca.sign(keys.publicKey, identity);
    const renewal = this.#options !== undefined;
    this.#options = {
      key: KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' }),
      cert: issued.certificateChain.join('\n'),
      ca: issued.trustBundle,
      minVersion: 'TLSv1.2',
    };
    if (renewal) for (const fn of this.#listeners) fn(this.#options);
    if (this.#closed) return;
    const halfLife = Math.max(1000, (issued.expiresAt - Date.now()) / 2);
    this.#timer = setTimeout(() => {
      this.start().catch((err: unknown) =>
        this.#logger.error({ err }, 'the control plane could not renew its own certificate'),
      );
    }, halfLife);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
