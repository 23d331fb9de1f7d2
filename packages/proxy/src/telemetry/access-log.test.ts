// Tests the access log: one JSON line per request with Envoy's fields, on/off switch, async fd destination.
import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AccessLog,
  type AccessLogEntry,
  formatLine,
  isoTime,
  PIPE_ATOMIC_BYTES,
  shortenedLine,
} from './access-log.ts';

const FIELDS = [
  'log',
  'start_time',
  'method',
  'path',
  'protocol',
  'response_code',
  'response_flags',
  'bytes_received',
  'bytes_sent',
  'duration',
  'upstream_host',
  'upstream_cluster',
  'x_request_id',
  'authority',
  'user_agent',
  'downstream_remote_address',
  'route_name',
];

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l)),
  };
}

const entry: AccessLogEntry = {
  start_time: Date.UTC(2026, 10, 25, 20, 0, 0, 123),
  method: 'GET',
  path: '/reviews/1?x=1',
  protocol: 'HTTP/1.1',
  response_code: 200,
  response_flags: '-',
  bytes_received: 0,
  bytes_sent: 512,
  duration: 12.7,
  upstream_host: '127.0.103.9:15006',
  upstream_cluster: 'outbound|80|v1|service-b',
  x_request_id: 'abc-123',
  authority: 'service-b',
  user_agent: 'curl/8',
  downstream_remote_address: '127.0.103.2:50000',
  route_name: 'default',
};

const tmpDirs: string[] = [];
afterEach(() => {
  for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('AccessLog', () => {
  it('writes one JSON line per request with Envoy fields after the access tag', async () => {
    const out = capture();
    const log = new AccessLog({ enabled: true, destination: out.stream });
    log.log(entry);
    log.log({ ...entry, response_code: 503, response_flags: 'UH', upstream_host: undefined });
    await log.flush();
    const lines = out.lines();
    expect(lines).toHaveLength(2);
    expect(Object.keys(lines[0] ?? {})).toEqual(FIELDS);
    expect(lines[0]).toMatchObject({
      start_time: '2026-11-25T20:00:00.123Z',
      method: 'GET',
      path: '/reviews/1?x=1',
      response_code: 200,
      duration: 13,
      upstream_cluster: 'outbound|80|v1|service-b',
      x_request_id: 'abc-123',
    });
    expect(lines[1]).toMatchObject({ response_code: 503, response_flags: 'UH', upstream_host: null });
  });

  it('writes nothing while disabled', async () => {
    const out = capture();
    const log = new AccessLog({ enabled: false, destination: out.stream });
    log.log(entry);
    expect(log.enabled).toBe(false);
    log.setEnabled(true);
    log.log(entry);
    log.setEnabled(false);
    log.log(entry);
    await log.flush();
    expect(out.lines()).toHaveLength(1);
  });

  it('writes to a file descriptor asynchronously and flushes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strait-access-'));
    tmpDirs.push(dir);
    const file = join(dir, 'access.log');
    const fd = openSync(file, 'w');
    const log = new AccessLog({ enabled: true, destination: fd });
    for (let i = 0; i < 50; i++) log.log({ ...entry, x_request_id: `r${i}` });
    await log.flush();
    // The async destination may still be writing when flush's callback runs; wait for the last line.
    const deadline = Date.now() + 5000;
    let lines: string[] = [];
    while (Date.now() < deadline) {
      lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      if (lines.length === 50) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(lines).toHaveLength(50);
    expect(JSON.parse(lines[49] ?? '{}').x_request_id).toBe('r49');
    await log.close();
  });

  it('escapes what a client sent and writes nulls for absent fields', () => {
    const nasty = 'a"b\\c\nd\u0001é\u2028';
    const line = formatLine({
      ...entry,
      path: nasty,
      user_agent: nasty,
      authority: undefined,
      duration: 0.4,
    });
    expect(line.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(line);
    expect(Object.keys(parsed)).toEqual(FIELDS);
    expect(parsed).toMatchObject({ path: nasty, user_agent: nasty, authority: null, duration: 0 });
  });

  it('formats start times exactly as Date#toISOString does', () => {
    const samples = [
      0,
      999,
      1000,
      -1,
      -1001,
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      253402300800000,
      -62198755200001,
    ];
    for (let i = 0; i < 2000; i++) samples.push(1_795_000_000_000 + i * 7);
    for (const ms of samples) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    expect(isoTime(1_795_000_000_000.5)).toBe(new Date(1_795_000_000_000.5).toISOString());
  });
});

describe('an access log shared by --workers processes', () => {
  const entry = (path: string): AccessLogEntry => ({
    start_time: 1_795_000_000_000,
    method: 'GET',
    path,
    protocol: 'HTTP/1.1',
    response_code: 200,
    response_flags: '-',
    bytes_received: 0,
    bytes_sent: 2,
    duration: 1,
    user_agent: 'ü'.repeat(3000),
  });

  it('shortens a line to one atomic pipe write, keeping it valid JSON', () => {
    const long = entry(`/p/${'x'.repeat(9000)}`);
    const line = shortenedLine(long, PIPE_ATOMIC_BYTES);
    expect(Buffer.byteLength(line)).toBeLessThanOrEqual(PIPE_ATOMIC_BYTES);
    const parsed = JSON.parse(line);
    expect(parsed.path).toBe(`/p/${'x'.repeat(509)}...`);
    expect(parsed.response_code).toBe(200);
  });

  it('on a pipe, writes lines short enough for one atomic write; on a file, writes them whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strait-shared-log-'));
    try {
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      // Read and write ends in one descriptor (Linux allows O_RDWR on a FIFO), so nothing blocks.
      const pipeFd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
      const onPipe = new AccessLog({ enabled: true, destination: pipeFd, shared: true });
      onPipe.log(entry(`/p/${'x'.repeat(9000)}`));
      await onPipe.flush();
      const buffer = Buffer.alloc(65536);
      const read = readSync(pipeFd, buffer);
      const text = buffer.subarray(0, read).toString('utf8');
      expect(read).toBeLessThanOrEqual(PIPE_ATOMIC_BYTES);
      expect(text.endsWith('\n')).toBe(true);
      expect(JSON.parse(text).path.endsWith('...')).toBe(true);
      await onPipe.close(); // closes the descriptor too

      const file = join(dir, 'file.log');
      const onFile = new AccessLog({ enabled: true, destination: openSync(file, 'w'), shared: true });
      onFile.log(entry(`/p/${'x'.repeat(9000)}`));
      await onFile.close();
      expect(JSON.parse(readFileSync(file, 'utf8')).path).toBe(`/p/${'x'.repeat(9000)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
