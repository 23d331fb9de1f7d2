// Connection caps follow the open-file limit and leave room for everything that is not a downstream socket.
import { describe, expect, it } from 'vitest';
import { defaultMaxConnections, openFileLimit } from './limits.ts';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                40000                files
`;

describe('connection limits', () => {
  it('reads the soft open-file limit', () => {
    expect(openFileLimit(LIMITS)).toBe(20_000);
    expect(openFileLimit('Max open files  unlimited unlimited files\n')).toBeUndefined();
    expect(openFileLimit('')).toBeUndefined();
  });

  it('gives half the descriptors to downstream connections, split over the listeners', () => {
    expect(defaultMaxConnections(1, 20_000)).toBe(10_000);
    expect(defaultMaxConnections(2, 20_000)).toBe(5_000);
    expect(defaultMaxConnections(2, 100)).toBe(64);
    expect(defaultMaxConnections(1, undefined)).toBe(10_000);
  });

  it('reads this process’s own limit on Linux', () => {
    expect(openFileLimit()).toBeGreaterThan(0);
  });
});
