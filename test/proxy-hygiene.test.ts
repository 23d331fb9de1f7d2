// Cross-process: malformed and smuggling requests on raw sockets get 4xx and the proxy keeps serving;
// slow clients time out; SIGTERM drains in-flight requests before exit.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyUnderTest, startProxy, startSimpleIngress } from './support/processes.ts';
import { rawExchange } from './support/raw.ts';
import { cluster, listener, route, snapshot } from './support/snapshots.ts';
import { startUpstream, type TestUpstream } from './support/upstream.ts';

const ADDR = '127.0.100.30';
let up: TestUpstream;
let proxy: ProxyUnderTest;

beforeAll(async () => {
  up = await startUpstream('up');
  proxy = await startSimpleIngress(ADDR, up, { args: ['--headers-timeout-ms', '800'] });
});

afterAll(async () => {
  await proxy?.stop();
  await up?.close();
});

/** Sends raw bytes to the proxy's gateway listener and returns what it answered. */
function raw(bytes: string, waitMs = 1500): Promise<string> {
  return rawExchange(ADDR, 8080, bytes, waitMs);
}

async function stillServes(): Promise<void> {
  const res = await request(`http://${ADDR}:8080/ok`);
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

describe('request smuggling and malformed input', () => {
  const before = () => up.seen.length;

  it('refuses Content-Length together with Transfer-Encoding', async () => {
    const n = before();
    const out = await raw(
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(up.seen.slice(n).some((s) => s.url === '/smuggled')).toBe(false);
    await stillServes();
  });

  it('refuses duplicate Content-Length', async () => {
    const out = await raw(
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 5\r\n\r\nhello',
    );
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    await stillServes();
  });

  it('refuses a bad chunk size', async () => {
    const out = await raw(
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
    );
    expect(out).toContain(' 400 ');
    await stillServes();
  });

  it('refuses duplicate Host', async () => {
    const out = await raw('GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    await stillServes();
  });

  it('refuses a missing Host on HTTP/1.1', async () => {
    const out = await raw('GET / HTTP/1.1\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    await stillServes();
  });

  it('answers 431 to oversize headers', async () => {
    const out = await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431/);
    await stillServes();
  });

  it('answers garbage with 400', async () => {
    const out = await raw('\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    await stillServes();
  });

  it('times out a client that sends its headers too slowly', async () => {
    const out = await raw('GET / HTTP/1.1\r\nHost: x\r\n', 4000);
    expect(out).toMatch(/^HTTP\/1\.1 408/);
    await stillServes();
  });
});

describe('SIGTERM', () => {
  it('drains an in-flight request, then exits 0', async () => {
    const addr = '127.0.100.31';
    const slow = await startUpstream('slow');
    slow.handle((req, res) => {
      req.resume();
      setTimeout(() => res.end('finished'), 700);
    });
    const p = await startProxy({
      role: 'ingress',
      address: addr,
      snapshot: snapshot(
        [listener('gateway', 8080, [route('all', 'slow')])],
        [cluster('slow', [{ address: slow.address, port: slow.port }])],
      ),
    });
    const inFlight = request(`http://${addr}:8080/`).then(async (r) => ({
      status: r.statusCode,
      text: await r.body.text(),
    }));
    await new Promise((r) => setTimeout(r, 200));
    p.child.kill('SIGTERM');
    const result = await inFlight;
    expect(result).toEqual({ status: 200, text: 'finished' });
    expect(await p.exited).toBe(0);
    await slow.close();
  });
});
