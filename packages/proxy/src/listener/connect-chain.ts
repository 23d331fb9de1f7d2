// A CONNECT tunnel opened through another proxy (the egress gateway): the sidecar asks the gateway to
// CONNECT to the target, and only once the gateway says 200 does the app get its 200.
import { connect, type Socket } from 'node:net';
import { rejectConnect, type TunnelHooks } from '../tunnel/index.ts';

const MAX_RESPONSE_HEAD = 16 * 1024;

export function openTunnelVia(
  client: Socket,
  head: Buffer,
  via: { address: string; port: number },
  target: string,
  hooks: TunnelHooks,
): void {
  const upstream: Socket = connect({ host: via.address, port: via.port });
  let established = false;
  let closed = false;
  let buffered = Buffer.alloc(0);
  let sent = 0;
  let received = 0;

  const close = (error?: string): void => {
    if (closed) return;
    closed = true;
    upstream.destroy();
    client.destroy();
    if (established)
      hooks.onClose?.({
        sentBytes: sent,
        receivedBytes: received,
        opened: true,
        ...(error ? { error } : {}),
      });
  };

  upstream.setTimeout(10_000, () => {
    if (!established) {
      rejectConnect(client, 504, 'egress gateway did not answer\n');
      close('timeout');
    }
  });
  upstream.on('error', (err) => {
    if (!established) rejectConnect(client, 503, `egress gateway unreachable: ${err.message}\n`);
    close(err.message);
  });
  client.on('error', (err) => close(err.message));
  client.on('close', () => close());
  upstream.on('close', () => close());

  upstream.on('connect', () => {
    upstream.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });

  const onHead = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buffered.length > MAX_RESPONSE_HEAD) close('oversize CONNECT response');
      return;
    }
    upstream.removeListener('data', onHead);
    upstream.setTimeout(0);
    const headText = buffered.subarray(0, end).toString('latin1');
    const rest = buffered.subarray(end + 4);
    const status = Number(headText.slice(9, 12));
    if (status !== 200) {
      // Pass the gateway's refusal (e.g. its 403 naming the host) to the app as it is.
      client.write(buffered);
      client.end();
      upstream.destroy();
      closed = true;
      return;
    }
    established = true;
    hooks.onOpen?.();
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (rest.length > 0) {
      sent += rest.length;
      client.write(rest);
    }
    if (head.length > 0) {
      received += head.length;
      upstream.write(head);
    }
    // Istio's sense: "sent" is what went to the client, "received" what came from it.
    upstream.on('data', (c: Buffer) => {
      sent += c.length;
    });
    client.on('data', (c: Buffer) => {
      received += c.length;
    });
    upstream.pipe(client);
    client.pipe(upstream);
  };
  upstream.on('data', onHead);
}
