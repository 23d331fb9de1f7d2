// Test support for the upstream pool and connection tests: a raw TCP server on loopback that counts its
// connections, keeps what each received, and answers each bodiless request head with what a test scripts.
import { createServer, type Server, type Socket } from 'node:net';

export interface UpstreamPeer {
  socket: Socket;
  /** Everything this connection received, as latin1 text. */
  received: string;
  closed: boolean;
}

/** Answers one request head (the nth on its connection, from 0): write to the socket, close it, or nothing. */
export type Script = (peer: UpstreamPeer, head: string, nth: number) => void;

export interface ScriptedUpstream {
  port: number;
  peers: UpstreamPeer[];
  script: Script;
  close(): Promise<void>;
}

/** A 200 with a short body, kept alive. */
export const OK: Script = (peer) => {
  peer.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
};

export async function startScriptedUpstream(script: Script = OK): Promise<ScriptedUpstream> {
  const peers: UpstreamPeer[] = [];
  const upstream: ScriptedUpstream = { port: 0, peers, script, close: async () => {} };
  const server: Server = createServer((socket) => {
    const peer: UpstreamPeer = { socket, received: '', closed: false };
    peers.push(peer);
    let pending = '';
    let nth = 0;
    socket.on('error', () => {});
    socket.on('close', () => {
      peer.closed = true;
    });
    socket.on('data', (d) => {
      const text = d.toString('latin1');
      peer.received += text;
      pending += text;
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        // Only request heads are scripted; a chunked body's pieces pass through without an answer.
        if (/^[A-Z]+ \S+ HTTP\/1\.1/.test(head)) upstream.script(peer, head, nth++);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.port = (server.address() as { port: number }).port;
  upstream.close = () =>
    new Promise((resolve) => {
      for (const peer of peers) peer.socket.destroy();
      server.close(() => resolve());
    });
  return upstream;
}

/** Waits until `test` holds, checking every few milliseconds; fails after `timeoutMs`. */
export async function until(what: string, test: () => boolean, timeoutMs = 3000): Promise<void> {
  // performance.now(), not Date.now(): tests that fake the clock still get a real deadline.
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
