// The off-thread parser: documents come back as the loader makes them; a body that takes too long is
// refused while the calling thread stays free, and the next body parses on a fresh worker.
import { afterEach, describe, expect, it } from 'vitest';
import { OffThreadParser } from './off-thread-parser.ts';

let parser: OffThreadParser | undefined;
afterEach(async () => {
  await parser?.close();
  parser = undefined;
});

const ENTRY = 'apiVersion: strait.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: m }\nspec: {}\n';

describe('OffThreadParser', () => {
  it('parses documents and reports issues like the loader', async () => {
    parser = new OffThreadParser({ budgetMs: 10_000, heapMb: 128 });
    const ok = await parser.parse(ENTRY, 'a.yaml');
    expect(ok.issues).toEqual([]);
    expect(ok.docs.map((d) => d.origin)).toEqual([{ file: 'a.yaml', document: 1 }]);
    const bad = await parser.parse('a: [1, 2', 'b.yaml');
    expect(bad.issues[0]?.error.code).toBe('STRAIT_CONFIG_PARSE');
  });

  it('refuses a body over its budget, keeps the caller free, and recovers', async () => {
    parser = new OffThreadParser({ budgetMs: 200, heapMb: 128 });
    // Warm the worker's parser up (a cold first parse on a busy machine may itself pass the budget).
    for (let i = 0; i < 5; i++) if (await parser.parse(ENTRY, 'warm.yaml').catch(() => undefined)) break;
    let flat = 'spec:\n';
    for (let i = 0; i < 40_000; i++) flat += `  key${i}: value${i}\n`;
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const refused = await parser.parse(flat, 'flat.yaml').then(
      () => undefined,
      (err: Error & { code?: string }) => err,
    );
    clearInterval(ticker);
    expect(refused?.code).toBe('STRAIT_CONFIG_TOO_COMPLEX');
    expect(refused?.message).toMatch(/flat\.yaml: took longer than 200 ms/);
    expect(ticks).toBeGreaterThan(0);
    expect((await parser.parse(ENTRY, 'again.yaml')).issues).toEqual([]);
  });

  it('keeps malformed sources a clear error', async () => {
    parser = new OffThreadParser({ budgetMs: 10_000, heapMb: 128 });
    const err = await parser.parse('{"sources": [{"file": 1}]}', 'x').catch((e: Error) => e);
    expect(String(err)).toMatch(/expected sources/);
  });
});
