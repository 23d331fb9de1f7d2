// Raw-socket clients for the hygiene and hostile-client tests: send bytes exactly as written, read what comes back.
import { connect, type Socket } from 'node:net';

/** Sends raw bytes (in parts, as given) and returns everything answered before the close, or after a pause. */
export function rawExchange(
  address: string,
  port: number,
  bytes: string | string[],
  waitMs = 1500,
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let out = '';
    socket.on('data', (d) => {
      out += d.toString('latin1');
    });
    socket.on('error', () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    for (const part of Array.isArray(bytes) ? bytes : [bytes]) socket.write(part);
  });
}

/** Reads until `pattern` appears in what the socket received, or fails after a while. */
export function readUntil(socket: Socket, pattern: RegExp, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString('latin1');
      if (pattern.test(out)) {
        cleanup();
        resolve(out);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} in ${JSON.stringify(out)}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
    };
    socket.on('data', onData);
  });
}

/** What a raw probe got back, and whether the proxy closed the connection (rather than the wait running out). */
export interface ProbeResult {
  text: string;
  closed: boolean;
}

/** Sends raw bytes, keeps the connection open, and reports what came back and whether the other side closed. */
export function rawProbe(
  address: string,
  port: number,
  bytes: string | string[],
  waitMs = 1500,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', () => {});
    const settle = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => settle(false), waitMs);
    // A FIN or a reset from the proxy both end the probe as closed.
    socket.on('end', () => settle(true));
    socket.on('close', () => settle(true));
    for (const part of Array.isArray(bytes) ? bytes : [bytes]) socket.write(part, 'latin1');
  });
}
