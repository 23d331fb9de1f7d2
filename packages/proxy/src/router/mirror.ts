// Traffic mirroring (Istio's mirror): a fire-and-forget copy of a body-less request to another cluster,
// its Host suffixed with -shadow as Envoy does; the copy's answer is read and dropped.
import { setField } from '../codec/headers.ts';
import type { Stream } from '../listener/stream.ts';
import type { RequestHead } from '../upstream/index.ts';

/** A shadow request gets this long before it is given up on. */
const MIRROR_TIMEOUT_MS = 10_000;

export function mirror(stream: Stream, clusterName: string, head: RequestHead, authority: string): void {
  const cluster = stream.ctx.clusters.get(clusterName);
  const host = cluster?.choose({
    headers: stream.exchange.headers,
    sourceIp: stream.exchange.remoteAddress,
    originalDestination: undefined,
  });
  if (!host) return;
  const raw = [...head.raw];
  setField(raw, 'host', `${authority}-shadow`);
  host.pool.acquire((result) => {
    if ('failure' in result) return;
    const connection = result.connection;
    const timer = setTimeout(() => connection.destroy(), MIRROR_TIMEOUT_MS);
    const done = (): void => clearTimeout(timer);
    connection.send({ ...head, raw }, { onHead: () => {}, onData: () => true, onEnd: done, onError: done });
  });
}
