// readBody: the whole body as text, a clear error past the limit or when the request ends early.
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readBody } from './http-util.ts';

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** Starts a server whose handler hands each request's readBody outcome to `seen`. */
async function serve(limit: number, seen: (outcome: string | Error) => void): Promise<number> {
  server = createServer((req: IncomingMessage, res) => {
    readBody(req, limit).then(
      (text) => {
        seen(text);
        res.end('ok');
      },
      (err: Error) => {
        seen(err);
        if (!res.destroyed) res.end();
      },
    );
  });
  server.listen(0, '127.0.131.5');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function post(port: number, parts: string[], endEarly = false): void {
  const req = request({ host: '127.0.131.5', port, method: 'POST', path: '/' });
  req.on('error', () => {});
  for (const part of parts) req.write(part);
  if (endEarly) setTimeout(() => req.destroy(), 50);
  else req.end();
}

describe('readBody', () => {
  it('joins the chunks of a body', async () => {
    const outcome = new Promise<string | Error>((resolve) => {
      serve(100, resolve).then((port) => post(port, ['héllo ', 'wörld']));
    });
    expect(await outcome).toBe('héllo wörld');
  });

  it('refuses a body past the limit', async () => {
    const outcome = new Promise<string | Error>((resolve) => {
      serve(10, resolve).then((port) => post(port, ['0123456789', 'abc']));
    });
    const err = (await outcome) as Error & { code?: string; status?: number };
    expect(err.message).toMatch(/over the limit of 10 bytes/);
    expect([err.code, err.status]).toEqual(['STRAIT_PAYLOAD_TOO_LARGE', 413]);
  });

  it('refuses a body whose Content-Length is over the limit before reading it', async () => {
    const outcome = new Promise<string | Error>((resolve) => {
      serve(10, resolve).then((port) => {
        const req = request({ host: '127.0.131.5', port, method: 'POST', path: '/' });
        req.on('error', () => {});
        req.setHeader('content-length', '1000000');
        req.write('x');
      });
    });
    expect(String(await outcome)).toMatch(/over the limit of 10 bytes/);
  });

  it('refuses a request that ends before its body', async () => {
    const outcome = new Promise<string | Error>((resolve) => {
      serve(100, resolve).then((port) => post(port, ['part'], true));
    });
    expect(String(await outcome)).toMatch(/aborted|ended before its body/);
  });
});
