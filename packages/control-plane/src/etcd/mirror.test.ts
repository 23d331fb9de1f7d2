// Which watch events a view still has to apply: every event of one transaction shares its revision, so none
// of them may be taken for one already seen.
import { describe, expect, it } from 'vitest';
import type { WatchEvent } from './client.ts';
import { newestRevision, unseen } from './mirror.ts';

const put = (key: string, modRevision: number): WatchEvent => ({
  type: 'PUT',
  kv: { key, value: '{}', createRevision: modRevision, modRevision, version: 1, lease: '0' },
});

describe('unseen', () => {
  it('keeps every event of a transaction after what the view knew, and none at or before it', () => {
    const batch = [put('/a', 7), put('/b', 8), put('/c', 8), put('/gen', 8)];
    expect(unseen(batch, 7).map((e) => e.kv.key)).toEqual(['/b', '/c', '/gen']);
    expect(unseen(batch, 8)).toEqual([]);
    expect(unseen(batch, 0)).toHaveLength(4);
  });

  it('moves the revision to the newest event, never back', () => {
    expect(newestRevision([put('/a', 7), put('/b', 9)], 3)).toBe(9);
    expect(newestRevision([], 5)).toBe(5);
    expect(newestRevision([put('/a', 2)], 5)).toBe(5);
  });
});
