// The push window: never more writes in flight than its limit, first configs ahead of updates, one place
// per proxy with its earliest change, and a drained signal once nothing is queued or in flight.
import { describe, expect, it } from 'vitest';
import { PushWindow } from './push-window.ts';

const turn = () => new Promise((r) => setImmediate(r));

function setup(limit: number) {
  const sent: { item: string; changeAt: number }[] = [];
  const writes = new Map<string, () => void>();
  let drained = 0;
  let inFlight = 0;
  let most = 0;
  const window = new PushWindow<string>({
    limit,
    send: (item, push) => {
      sent.push({ item, changeAt: push.changeAt });
      if (item.startsWith('skip')) return undefined;
      inFlight++;
      most = Math.max(most, inFlight);
      return new Promise<void>((resolve) => {
        writes.set(item, () => {
          inFlight--;
          resolve();
        });
      });
    },
    onDrained: () => drained++,
  });
  return { window, sent, writes, most: () => most, drained: () => drained };
}

describe('PushWindow', () => {
  it('keeps at most `limit` writes in flight and refills a slot when a write reaches the kernel', async () => {
    const t = setup(2);
    for (const p of ['a', 'b', 'c', 'd']) t.window.enqueue(p, 1, false);
    expect(t.sent.map((s) => s.item)).toEqual(['a', 'b']);
    t.writes.get('a')?.();
    await turn();
    await turn();
    expect(t.sent.map((s) => s.item)).toEqual(['a', 'b', 'c']);
    expect(t.most()).toBe(2);
  });

  it('sends first configs ahead of updates, and keeps one place per proxy with its earliest change', async () => {
    const t = setup(1);
    t.window.enqueue('busy', 1, false);
    t.window.enqueue('u1', 30, false);
    t.window.enqueue('u1', 20, false);
    t.window.enqueue('new', 40, true);
    t.writes.get('busy')?.();
    await turn();
    await turn();
    expect(t.sent.map((s) => s.item)).toEqual(['busy', 'new']);
    t.writes.get('new')?.();
    await turn();
    await turn();
    expect(t.sent.at(-1)).toEqual({ item: 'u1', changeAt: 20 });
  });

  it('uses no slot for a proxy with nothing to write, forgets a removed one, and says when it is drained', async () => {
    const t = setup(1);
    t.window.enqueue('skip-me', 1, false);
    t.window.enqueue('a', 1, false);
    t.window.enqueue('gone', 1, false);
    t.window.remove('gone');
    expect(t.sent.map((s) => s.item)).toEqual(['skip-me', 'a']);
    expect(t.window.busy).toBe(true);
    t.writes.get('a')?.();
    await turn();
    await turn();
    await turn();
    expect(t.window.busy).toBe(false);
    expect(t.sent.map((s) => s.item)).toEqual(['skip-me', 'a']);
    expect(t.drained()).toBeGreaterThanOrEqual(1);
  });
});
