// Tests the batched line writer: lines arrive whole and in order, by timer or by size, a slow or broken
// destination drops lines instead of growing memory, and flush/close wait for what was queued.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchWriter } from './batch-writer.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): { file: string; fd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'strait-batch-'));
  dirs.push(dir);
  const file = join(dir, 'out.log');
  return { file, fd: openSync(file, 'w') };
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('BatchWriter', () => {
  it('keeps lines whole and in order across many batches, with multi-byte text', async () => {
    const { file, fd } = tempFile();
    const writer = new BatchWriter({ destination: fd, batchBytes: 256 });
    for (let i = 0; i < 500; i++) writer.write(`line ${i} ünïcødé ${'x'.repeat(i % 40)}\n`);
    await writer.close();
    const got = lines(file);
    expect(got).toHaveLength(500);
    for (const [i, line] of got.entries()) expect(line.startsWith(`line ${i} ünïcødé `)).toBe(true);
    expect(writer.dropped).toBe(0);
  });

  it('writes a lone line after the flush interval, without flush()', async () => {
    const { file, fd } = tempFile();
    const writer = new BatchWriter({ destination: fd, flushIntervalMs: 20 });
    writer.write('alone\n');
    expect(lines(file)).toEqual([]);
    const deadline = Date.now() + 5000;
    while (lines(file).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(lines(file)).toEqual(['alone']);
    await writer.close();
  });

  it('writes a line longer than a batch on its own', async () => {
    const { file, fd } = tempFile();
    const writer = new BatchWriter({ destination: fd, batchBytes: 64 });
    writer.write('short\n');
    writer.write(`${'y'.repeat(1000)}\n`);
    writer.write('after\n');
    await writer.close();
    expect(lines(file)).toEqual(['short', 'y'.repeat(1000), 'after']);
  });

  it('drops lines beyond the pending limit instead of buffering them', async () => {
    const { file, fd } = tempFile();
    const writer = new BatchWriter({ destination: fd, batchBytes: 100, maxPendingBytes: 1000 });
    for (let i = 0; i < 100; i++) writer.write(`${String(i).padStart(49, '0')}\n`); // 50 bytes each
    expect(writer.dropped).toBeGreaterThan(0);
    await writer.close();
    expect(lines(file).length + writer.dropped).toBe(100);
    expect(lines(file).length).toBeGreaterThanOrEqual(20);
  });

  it('counts lines lost to a broken descriptor and keeps going', async () => {
    const { fd } = tempFile();
    closeSync(fd);
    const writer = new BatchWriter({ destination: fd });
    writer.write('a\n');
    writer.write('b\n');
    await writer.flush();
    expect(writer.dropped).toBe(2);
    await writer.close();
  });

  it('hands lines straight to a sink', async () => {
    const got: string[] = [];
    const writer = new BatchWriter({ destination: { write: (line: string) => got.push(line) } });
    writer.write('one\n');
    await writer.flush();
    expect(got).toEqual(['one\n']);
    await writer.close();
    writer.write('late\n');
    expect(got).toEqual(['one\n']);
  });

  it('with atomic writes, keeps whole lines and drops one too long for a single write', async () => {
    const { file, fd } = tempFile();
    const writer = new BatchWriter({ destination: fd, atomicWriteBytes: 4096 });
    for (let i = 0; i < 300; i++) writer.write(`line ${i} ${'y'.repeat(1000)}\n`);
    writer.write(`huge ${'z'.repeat(5000)}\n`);
    await writer.close();
    const got = lines(file);
    expect(got).toHaveLength(300);
    for (const [i, line] of got.entries()) expect(line).toBe(`line ${i} ${'y'.repeat(1000)}`);
    expect(writer.dropped).toBe(1);
  });
});
