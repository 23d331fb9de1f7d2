// UpstreamConnection against a scripted upstream on loopback: request framing, response parsing, and whether
// the connection may carry another request (keep-alive, Connection: close, HTTP/1.0, close-delimited, resets).
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type RequestHead,
  type ResponseHandler,
  UpstreamConnection,
  type UpstreamFailure,
} from './connection.ts';
import { type Script, type ScriptedUpstream, startScriptedUpstream, until } from './testing.ts';

let upstream: ScriptedUpstream | undefined;
const connections: UpstreamConnection[] = [];

afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  await upstream?.close();
  upstream = undefined;
});

/** What one response came to: head, body, trailers, or the failure. */
interface Result {
  status?: number;
  length?: number | undefined;
  raw?: string[];
  body: string;
  trailers?: string[];
  error?: { failure: UpstreamFailure; beforeResponse: boolean };
}

/** A connection to a scripted upstream; `done` records what the connection said about reuse. */
async function open(script: Script): Promise<{ connection: UpstreamConnection; done: boolean[] }> {
  upstream = await startScriptedUpstream(script);
  const socket = connect({ host: '127.0.0.1', port: upstream.port });
  await new Promise((r) => socket.once('connect', r));
  const done: boolean[] = [];
  const connection = new UpstreamConnection(socket, (_c, reusable) => done.push(reusable));
  connections.push(connection);
  return { connection, done };
}

const GET: RequestHead = { method: 'GET', path: '/', raw: ['host', 'up'], hasBody: false, length: undefined };

/** Sends a request and resolves once its response has ended or failed. */
function exchange(
  connection: UpstreamConnection,
  head: RequestHead = GET,
  onData = () => true,
): Promise<Result> {
  return new Promise((resolve) => {
    const result: Result = { body: '' };
    const handler: ResponseHandler = {
      onHead: (status, _reason, raw, length) => {
        result.status = status;
        result.raw = raw;
        result.length = length;
      },
      onData: (chunk) => {
        result.body += chunk.toString('latin1');
        return onData();
      },
      onEnd: (trailers) => {
        result.trailers = trailers;
        resolve(result);
      },
      onError: (failure, beforeResponse) => {
        result.error = { failure, beforeResponse };
        resolve(result);
      },
    };
    connection.send(head, handler);
  });
}

describe('keep-alive', () => {
  it('carries requests one after another and says each time it may be reused', async () => {
    const { connection, done } = await open((peer, _head, nth) =>
      peer.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${nth}`),
    );
    expect((await exchange(connection)).body).toBe('0');
    expect((await exchange(connection)).body).toBe('1');
    expect(done).toEqual([true, true]);
    expect(connection.requests).toBe(2);
    expect(upstream?.peers).toHaveLength(1);
  });

  it('is not reused after a response with Connection: close', async () => {
    const { connection, done } = await open((peer) =>
      peer.socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'),
    );
    expect((await exchange(connection)).body).toBe('ok');
    expect(done).toEqual([false]);
  });

  it('is not reused after an HTTP/1.0 response, even with a length', async () => {
    const { connection, done } = await open((peer) =>
      peer.socket.write('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    );
    expect((await exchange(connection)).body).toBe('ok');
    expect(done).toEqual([false]);
  });

  it('a response to HEAD ends at its head, whatever its Content-Length says, and stays reusable', async () => {
    const { connection, done } = await open((peer) =>
      peer.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'),
    );
    const result = await exchange(connection, { ...GET, method: 'HEAD' });
    expect(result).toMatchObject({ status: 200, length: 1000, body: '' });
    expect(done).toEqual([true]);
  });

  it('skips 100 Continue and hands over the final response', async () => {
    const { connection } = await open((peer) =>
      peer.socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew'),
    );
    expect(await exchange(connection)).toMatchObject({ status: 201, body: 'new' });
  });

  it('a second response in the same read as the first is unsolicited: the first is delivered, the connection dropped', async () => {
    const { connection, done } = await open((peer) =>
      peer.socket.write(
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil',
      ),
    );
    // Whoever gets the connection back as soon as the first response ends sends the next request at once.
    const next: Result[] = [];
    const first = await new Promise<Result>((resolve) => {
      const result: Result = { body: '' };
      connection.send(GET, {
        onHead: (status) => {
          result.status = status;
        },
        onData: (chunk) => {
          result.body += chunk.toString('latin1');
          return true;
        },
        onEnd: () => resolve(result),
        onError: (failure, beforeResponse) => {
          result.error = { failure, beforeResponse };
          resolve(result);
        },
      });
    });
    if (done[0]) void exchange(connection).then((r) => next.push(r));
    expect(first).toMatchObject({ status: 200, body: 'ok' });
    expect(first.error).toBeUndefined();
    await until('the connection to close', () => connection.closed);
    expect(done[0]).toBe(false);
    expect(next.map((r) => r.body)).not.toContain('evil');
  });

  it('an idle connection that receives bytes nobody asked for is dropped', async () => {
    const { connection, done } = await open((peer) => {
      peer.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      setTimeout(() => peer.socket.write('HTTP/1.1 200 OK\r\n\r\n'), 30);
    });
    await exchange(connection);
    await until('the connection to close', () => connection.closed);
    expect(done).toEqual([true, false]);
  });
});

describe('response bodies', () => {
  it('a close-delimited body ends with the close, and the connection is not reused', async () => {
    const { connection, done } = await open((peer) =>
      peer.socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end'),
    );
    const result = await exchange(connection);
    expect(result).toMatchObject({ status: 200, length: undefined, body: 'until the end' });
    expect(result.error).toBeUndefined();
    expect(done[0]).toBe(false);
  });

  it('a chunked body and its trailers', async () => {
    const { connection } = await open((peer) =>
      peer.socket.write(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n',
      ),
    );
    expect(await exchange(connection)).toMatchObject({
      length: undefined,
      body: 'abcde',
      trailers: ['X-Sum', '5'],
    });
  });

  it('a full owner pauses the connection; resume() lets the rest through', async () => {
    const size = 8 * 1024 * 1024;
    let written = 0;
    const { connection } = await open((peer) => {
      peer.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = (): void => {
        while (written < size) {
          written += chunk.length;
          if (!peer.socket.write(chunk)) {
            peer.socket.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    let received = 0;
    const ended = exchange(connection, GET, () => {
      received += 1;
      return false;
    });
    await until('the first body chunk', () => received > 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(written).toBeLessThan(size);
    connection.resume();
    // From here the owner keeps pausing; resume after every chunk until the body is in.
    const timer = setInterval(() => connection.resume(), 2);
    const result = await ended;
    clearInterval(timer);
    expect(result.body.length).toBe(size);
  });
});

describe('failures', () => {
  it('a reset before any response byte is a reset before the response', async () => {
    const { connection, done } = await open((peer) => peer.socket.destroy());
    const result = await exchange(connection);
    expect(result.error).toEqual({ failure: 'reset', beforeResponse: true });
    expect(done).toEqual([false]);
  });

  it('a close in the middle of a body is a reset after the response began', async () => {
    const { connection } = await open((peer) =>
      peer.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some'),
    );
    const result = await exchange(connection);
    expect(result.status).toBe(200);
    expect(result.error).toEqual({ failure: 'reset', beforeResponse: false });
  });

  it('a malformed response is a reset', async () => {
    const { connection } = await open((peer) =>
      peer.socket.write('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n'),
    );
    expect((await exchange(connection)).error).toEqual({ failure: 'reset', beforeResponse: true });
  });
});

describe('request framing', () => {
  it('a body of known length goes with Content-Length; an unknown one is chunked, trailers included', async () => {
    const { connection } = await open((peer, head) => {
      if (head.startsWith('POST /length')) peer.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    });
    const sized = exchange(connection, {
      method: 'POST',
      path: '/length',
      raw: ['host', 'up'],
      hasBody: true,
      length: 5,
    });
    connection.writeBody(Buffer.from('hello'));
    connection.endBody([]);
    await sized;
    const chunked = exchange(connection, {
      method: 'POST',
      path: '/chunked',
      raw: ['host', 'up'],
      hasBody: true,
      length: undefined,
    });
    connection.writeBody(Buffer.from('abc'));
    connection.endBody(['x-t', '1']);
    const peer = upstream?.peers[0];
    await until('the chunked body', () => peer?.received.endsWith('0\r\nx-t: 1\r\n\r\n') === true);
    expect(peer?.received).toBe(
      'POST /length HTTP/1.1\r\nhost: up\r\ncontent-length: 5\r\n\r\nhello' +
        'POST /chunked HTTP/1.1\r\nhost: up\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n',
    );
    peer?.socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    expect((await chunked).status).toBe(204);
  });
});
