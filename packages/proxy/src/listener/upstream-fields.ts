// The fields a request carries upstream: its end-to-end ones plus what the proxy adds, as Envoy's connection
// manager does: x-request-id, x-forwarded-for and -proto, Via, and the proxy's own peer metadata.
import { PEER_METADATA_HEADER } from '@strait/api';
import { appendField, endToEnd, fieldOf, setField } from '../codec/headers.ts';
import type { Stream } from './stream.ts';

/**
 * Not copied: the peer header never passes a proxy as it came (an inbound drops it, the others replace it),
 * and Content-Length, which the codec writes itself from the body it frames.
 */
const DROPPED = new Set([PEER_METADATA_HEADER, 'content-length']);

export function upstreamFields(stream: Stream, upgrade: boolean): string[] {
  const exchange = stream.exchange;
  const ctx = stream.ctx;
  const kind = stream.config.listener.kind;
  const raw = endToEnd(exchange.headers.raw, DROPPED);
  if (upgrade) {
    const protocol = exchange.headers.get('upgrade');
    if (protocol !== undefined) raw.push('connection', 'upgrade', 'upgrade', protocol);
  }
  setField(raw, 'x-request-id', stream.requestId);
  if (exchange.remoteAddress !== '') appendField(raw, 'x-forwarded-for', exchange.remoteAddress);
  if (kind === 'gateway' || fieldOf(raw, 'x-forwarded-proto') === undefined)
    setField(raw, 'x-forwarded-proto', 'http');
  appendField(raw, 'via', ctx.node.via);
  if (kind !== 'inbound') raw.push(PEER_METADATA_HEADER, ctx.node.peerHeader);
  return raw;
}
