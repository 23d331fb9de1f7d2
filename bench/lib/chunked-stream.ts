// A bare HTTP/1.1 client for one long-lived streamed response (the simulator's discovery streams): sends
// one request on a plain TCP socket and hands the body's bytes over as they arrive, decoding chunked framing.
// Every stream reads into one shared buffer, so 1000 streams allocate nothing per read; body bytes are
// passed on as views of that buffer, valid only until the callback returns (copy what you keep).
import { connect, type Socket } from 'node:net';

export interface ChunkedStreamOptions {
  host: string;
  port: number;
  /** The whole request head and body, as bytes ready to send. */
  request: Buffer;
  /** Body bytes, in order; a view of the shared read buffer, valid during the call only. */
  onBody: (bytes: Buffer) => void;
  /** The stream ended or broke (after the response started). */
  onClose: (error?: Error) => void;
}

/** Bytes read per socket read; one buffer serves every stream, since each read is consumed at once. */
const sharedReadBuffer = Buffer.allocUnsafe(256 * 1024);

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** Builds an HTTP/1.1 request as bytes. */
export function httpRequest(
  method: string,
  path: string,
  host: string,
  headers: Record<string, string>,
  body: string,
): Buffer {
  const payload = Buffer.from(body);
  const lines = [`${method} ${path} HTTP/1.1`, `host: ${host}`, `content-length: ${payload.length}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), payload]);
}

/**
 * Opens the stream; resolves with the socket once a 200 response head has arrived (rejects on any
 * other status, or if the connection fails first). The body then flows to `onBody`.
 */
export function openChunkedStream(options: ChunkedStreamOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let state: 'head' | 'size' | 'data' | 'data-end' | 'raw' | 'done' = 'head';
    let head: Buffer[] = [];
    let sizeLine = '';
    let remaining = 0;
    let answered = false;
    const fail = (error: Error) => {
      if (!answered) {
        answered = true;
        reject(error);
      }
      socket.destroy();
    };

    /** Handles the response head; returns false if the stream cannot go on. */
    const readHead = (text: string): boolean => {
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      if (status !== 200) {
        fail(new Error(`answered ${status || 'something that is not HTTP'}: ${text.split('\r\n')[0]}`));
        return false;
      }
      state = /\r\ntransfer-encoding:[^\r]*chunked/i.test(text) ? 'size' : 'raw';
      answered = true;
      resolve(socket);
      return true;
    };

    const consume = (bytes: Buffer): void => {
      let at = 0;
      while (at < bytes.length) {
        if (state === 'head') {
          head.push(Buffer.from(bytes.subarray(at)));
          const joined = Buffer.concat(head);
          const end = joined.indexOf(CRLF_CRLF);
          if (end < 0) return;
          head = [];
          if (!readHead(joined.subarray(0, end).toString('latin1'))) return;
          // Body bytes that came with the head are handled from the joined copy.
          consume(joined.subarray(end + 4));
          return;
        }
        if (state === 'raw') {
          options.onBody(bytes.subarray(at));
          return;
        }
        if (state === 'size') {
          const newline = bytes.indexOf(10, at);
          if (newline < 0) {
            sizeLine += bytes.toString('latin1', at);
            return;
          }
          sizeLine += bytes.toString('latin1', at, newline);
          at = newline + 1;
          remaining = Number.parseInt(sizeLine, 16);
          sizeLine = '';
          if (!Number.isFinite(remaining)) {
            fail(new Error('bad chunk size in the response'));
            return;
          }
          if (remaining === 0) {
            state = 'done';
            socket.end();
            return;
          }
          state = 'data';
        } else if (state === 'data') {
          const take = Math.min(remaining, bytes.length - at);
          options.onBody(bytes.subarray(at, at + take));
          remaining -= take;
          at += take;
          if (remaining === 0) state = 'data-end';
        } else if (state === 'data-end') {
          // The CRLF after a chunk's data (possibly split over reads).
          const newline = bytes.indexOf(10, at);
          if (newline < 0) return;
          at = newline + 1;
          state = 'size';
        } else return;
      }
    };

    const socket = connect({
      host: options.host,
      port: options.port,
      noDelay: true,
      onread: {
        buffer: sharedReadBuffer,
        callback: (bytesRead: number, buffer: Uint8Array) => {
          consume((buffer as Buffer).subarray(0, bytesRead));
          return true;
        },
      },
    });
    socket.on('connect', () => socket.write(options.request));
    socket.on('error', (error) => {
      if (!answered) fail(error);
      else options.onClose(error);
    });
    socket.on('close', () => {
      if (!answered) fail(new Error('the connection closed before a response'));
      else if (state !== 'done') options.onClose(new Error('the stream ended'));
      else options.onClose();
    });
  });
}
