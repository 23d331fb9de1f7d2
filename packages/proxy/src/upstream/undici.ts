// The parts of undici the proxy uses (Pool, Client, Agent and their request API), loaded without the rest
// of the package (fetch, WebSocket, caches, mocks). Measured: imported alone, 14 MB less RSS than the whole
// package (bench/memory-probe.ts); in the built proxy, whose other dependencies share much of the rest,
// 2 MB less idle RSS and a bundle 0.5 MB smaller. Types come from undici's own declarations.
import type * as Undici from 'undici';
import requestApi from 'undici/lib/api/index.js';
import AgentModule from 'undici/lib/dispatcher/agent.js';
import ClientModule from 'undici/lib/dispatcher/client.js';
import DispatcherModule from 'undici/lib/dispatcher/dispatcher.js';
import PoolModule from 'undici/lib/dispatcher/pool.js';

// undici's entry point gives every dispatcher request/stream/pipeline/upgrade/connect in exactly this way.
Object.assign((DispatcherModule as { prototype: object }).prototype, requestApi);

export const Pool = PoolModule as typeof Undici.Pool;
export type Pool = Undici.Pool;
export const Client = ClientModule as typeof Undici.Client;
export type Client = Undici.Client;
export const Agent = AgentModule as typeof Undici.Agent;
export type Agent = Undici.Agent;
export type { Dispatcher } from 'undici';
