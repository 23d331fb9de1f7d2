// sniffTls on loopback: TLS and plain first bytes are told apart and put back; a silent client is cut.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sniffTls } from './first-byte.ts';

let server: Server | undefined;
afterEach(() => server?.close());

/** A server that sniffs each connection; resolves with the verdict and what the socket reads afterwards. */
function sniffingServer(
  timeoutMs: number,
): Promise<{ port: number; verdicts: Promise<{ isTls: boolean; bytes: string } | 'closed'> }> {
  let report: (v: { isTls: boolean; bytes: string } | 'closed') => void = () => {};
  const verdicts = new Promise<{ isTls: boolean; bytes: string } | 'closed'>((r) => {
    report = r;
  });
  server = createServer((socket: Socket) => {
    socket.on('close', () => report('closed'));
    sniffTls(socket, timeoutMs, (isTls) => {
      socket.once('data', (chunk) => report({ isTls, bytes: chunk.toString('latin1') }));
      socket.resume();
    });
  });
  return new Promise((resolve) =>
    server?.listen(0, '127.0.0.1', () => {
      const address = server?.address();
      resolve({ port: typeof address === 'object' && address ? address.port : 0, verdicts });
    }),
  );
}

describe('sniffTls', () => {
  it('hands plain text on with its first byte put back', async () => {
    const { port, verdicts } = await sniffingServer(5000);
    const client = connect(port, '127.0.0.1', () => client.write('GET / HTTP/1.1\r\n'));
    expect(await verdicts).toEqual({ isTls: false, bytes: 'GET / HTTP/1.1\r\n' });
    client.destroy();
  });

  it('tells a TLS handshake record by its first byte', async () => {
    const { port, verdicts } = await sniffingServer(5000);
    const client = connect(port, '127.0.0.1', () => client.write(Buffer.from([0x16, 0x03, 0x01])));
    expect(await verdicts).toEqual({ isTls: true, bytes: '\x16\x03\x01' });
    client.destroy();
  });

  it('closes a client that sends nothing within the timeout', async () => {
    const { port, verdicts } = await sniffingServer(200);
    const client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    expect(await verdicts).toBe('closed');
    client.destroy();
  });
});
