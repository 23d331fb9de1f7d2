// A listener's limits: the codec's (header bytes and count, URL, timeouts, requests per connection) with
// Envoy-like defaults, and the connection cap from the process's open-file limit, so that a flood of idle
// connections can never take the descriptors that upstream connections, admin and readiness need.
import { readFileSync } from 'node:fs';
import type { ListenerLimits } from '@strait/api';
import type { CodecLimits } from '../codec/types.ts';

/** The codec's limits for a listener: the snapshot's where it sets them, else the defaults. */
export function codecLimits(limits: ListenerLimits | undefined, headerTimeoutMs: number): CodecLimits {
  return {
    maxHeaderBytes: limits?.maxHeaderBytes ?? 60 * 1024,
    maxHeaderCount: limits?.maxHeaderCount ?? 100,
    maxUrlBytes: limits?.maxUrlBytes ?? 16 * 1024,
    headerTimeoutMs: limits?.headerTimeoutMs ?? headerTimeoutMs,
    idleTimeoutMs: limits?.idleTimeoutMs ?? 30_000,
    maxRequestsPerConnection: limits?.maxRequestsPerConnection ?? 0,
  };
}

/** The soft limit on open files (Linux's /proc/self/limits), or undefined where it cannot be read. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  const n = Number(soft);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Used when the limit cannot be read (or is "unlimited"). */
const FALLBACK_OPEN_FILES = 20_000;

/**
 * A listener's connection cap when its snapshot sets none: half of the open-file limit, split evenly over
 * the listeners. The other half stays for upstream connections, admin, readiness, stats and files.
 */
export function defaultMaxConnections(listeners: number, limit = openFileLimit()): number {
  return Math.max(64, Math.floor((limit ?? FALLBACK_OPEN_FILES) / 2 / Math.max(1, listeners)));
}
