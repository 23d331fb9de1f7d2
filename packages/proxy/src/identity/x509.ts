// @peculiar/x509, loaded after the Reflect metadata polyfill its dependency injection (tsyringe) needs,
// with Node's WebCrypto as its provider. Import X.509 from here, never from the package itself.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

export { x509 };
