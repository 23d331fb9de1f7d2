// The convergence simulator's readers and poster: line heads across any chunking (with bounded memory and
// reused chunk memory), the bare chunked HTTP client and the keep-alive ACK poster against node:http.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpRequest, openChunkedStream } from '../bench/lib/chunked-stream.ts';
import { KeepAlivePoster } from '../bench/lib/keep-alive-poster.ts';
import { type LineDecoder, LineHeads } from '../bench/lib/line-heads.ts';

type Seen = { from: 'head' | 'line'; text: string };

/** Takes the line's first word from the head when the head holds a space, else asks for the whole line. */
const firstWord: LineDecoder<Seen> = {
  fromHead(head) {
    const text = head.toString();
    const space = text.indexOf(' ');
    return space >= 0 ? { from: 'head', text: text.slice(0, space) } : undefined;
  },
  fromLine(line) {
    return { from: 'line', text: line.toString() };
  },
};

function feed(input: string, cut: number[], headBytes = 8): { seen: Seen[]; maxHeld: number } {
  const seen: Seen[] = [];
  const reader = new LineHeads(headBytes, firstWord, (m) => seen.push(m));
  const bytes = Buffer.from(input);
  let maxHeld = 0;
  let at = 0;
  for (const end of [...cut, bytes.length]) {
    // One scratch buffer reused for every chunk, as the simulator's shared read buffer is.
    const scratch = Buffer.from(bytes.subarray(at, end));
    reader.push(scratch);
    scratch.fill(0x21);
    maxHeld = Math.max(maxHeld, reader.heldBytes);
    at = end;
  }
  return { seen, maxHeld };
}

describe('LineHeads', () => {
  const input = `alpha ${'x'.repeat(200)}\nbeta gamma\n\nlongwordwithoutspace\nz\n`;
  const expected: Seen[] = [
    { from: 'head', text: 'alpha' },
    { from: 'head', text: 'beta' },
    { from: 'line', text: 'longwordwithoutspace' },
    { from: 'line', text: 'z' },
  ];

  it('gives the same messages however the stream is chunked, and copies what it keeps', () => {
    expect(feed(input, []).seen).toEqual(expected);
    for (const size of [1, 2, 3, 7, 8, 9, 64])
      expect(
        feed(
          input,
          Array.from({ length: Math.ceil(input.length / size) }, (_, i) => i * size),
        ).seen,
      ).toEqual(expected);
  });

  it('holds no more than the head while skipping a long line it has judged', () => {
    const long = `word ${'y'.repeat(100_000)}\n`;
    const cuts = Array.from({ length: 100 }, (_, i) => i * 1000);
    const { seen, maxHeld } = feed(long, cuts, 8);
    expect(seen).toEqual([{ from: 'head', text: 'word' }]);
    expect(maxHeld).toBeLessThanOrEqual(8);
  });

  it('refuses a head size that is not a positive integer', () => {
    expect(() => new LineHeads(0, firstWord, () => {})).toThrow(RangeError);
  });
});

describe('openChunkedStream', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    server?.close();
    server = undefined;
  });

  async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
    server = createServer(handler);
    server.listen(0, '127.0.131.3');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  }

  it('hands over the chunked body in order and reports the end', async () => {
    const parts = ['{"a":1}\n{"b"', ':2}\n', 'x'.repeat(300_000), '\n'];
    let requestBody = '';
    const port = await serve((req, res) => {
      req.on('data', (chunk: Buffer) => {
        requestBody += chunk.toString();
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        for (const part of parts) res.write(part);
        res.end();
      });
    });
    const received: Buffer[] = [];
    let closed: (error?: Error) => void = () => {};
    const ended = new Promise<Error | undefined>((resolve) => {
      closed = resolve;
    });
    await openChunkedStream({
      host: '127.0.131.3',
      port,
      request: httpRequest('POST', '/v1/discovery', `127.0.131.3:${port}`, {}, '{"node":{}}'),
      onBody: (bytes) => received.push(Buffer.from(bytes)),
      onClose: (error) => closed(error),
    });
    expect(await ended).toBeUndefined();
    expect(Buffer.concat(received).toString()).toBe(parts.join(''));
    expect(requestBody).toBe('{"node":{}}');
  });

  it('rejects a stream the server does not answer with 200', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(403).end('no');
    });
    await expect(
      openChunkedStream({
        host: '127.0.131.3',
        port,
        request: httpRequest('POST', '/v1/discovery', 'x', {}, '{}'),
        onBody: () => {},
        onClose: () => {},
      }),
    ).rejects.toThrow(/answered 403/);
  });
});

describe('KeepAlivePoster', () => {
  it('posts over at most its connections, reusing them, and answers every post in order of arrival', async () => {
    const sockets = new Set<unknown>();
    const server = createServer((req, res) => {
      sockets.add(req.socket);
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        const status = body.includes('"refuse":true') ? 409 : 200;
        const text = JSON.stringify({ echo: JSON.parse(body), auth: req.headers.authorization ?? null });
        res.writeHead(status, { 'content-type': 'application/json' }).end(text);
      });
    });
    server.listen(0, '127.0.131.4');
    await once(server, 'listening');
    const poster = new KeepAlivePoster('127.0.131.4', (server.address() as AddressInfo).port, 3, {
      authorization: 'Bearer t',
    });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => poster.post('/ack', JSON.stringify({ i, refuse: i === 7 }))),
      );
      answers.forEach((answer, i) => {
        expect(answer.status).toBe(i === 7 ? 409 : 200);
        expect(JSON.parse(answer.text)).toEqual({ echo: { i, refuse: i === 7 }, auth: 'Bearer t' });
      });
      expect(sockets.size).toBeLessThanOrEqual(3);
    } finally {
      poster.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('answers status 0 when nothing listens', async () => {
    const server = createServer();
    server.listen(0, '127.0.131.4');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    server.close();
    await once(server, 'close');
    const poster = new KeepAlivePoster('127.0.131.4', port, 1);
    expect(await poster.post('/ack', '{}')).toEqual({ status: 0, text: '' });
    poster.close();
  });
});
