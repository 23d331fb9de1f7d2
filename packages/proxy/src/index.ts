// @strait/proxy: the data plane, for embedding and tests (the command is main.ts).
export { readBootstrap } from './config/bootstrap.ts';
export { type ProxyOptions, parseOptions } from './config/options.ts';
export { StraitProxy } from './proxy.ts';
