// Small real HTTP servers that play upstreams in tests: they say who they are and can misbehave on cue.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestUpstream {
  server: Server;
  address: string;
  port: number;
  name: string;
  /** Requests seen, in order. */
  seen: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  /** Replace the handler (default: 200 JSON naming this upstream). */
  handle: (fn: (req: IncomingMessage, res: ServerResponse) => void) => void;
  close: () => Promise<void>;
}

export async function startUpstream(name: string, address = '127.0.0.1', port = 0): Promise<TestUpstream> {
  let handler = (req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    const body = JSON.stringify({ upstream: name, url: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(body);
  };
  const seen: TestUpstream['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, address, resolve));
  const bound = server.address() as AddressInfo;
  return {
    server,
    address,
    port: bound.port,
    name,
    seen,
    handle: (fn) => {
      handler = fn;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
