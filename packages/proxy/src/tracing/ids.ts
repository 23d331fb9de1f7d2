// Span and trace ids for sampled requests: lower-case hex cut from a pool of random bytes that is refilled
// in one call when used up, so an id costs a slice of a buffer rather than a trip to the CSPRNG.
import { randomFillSync } from 'node:crypto';

const POOL = Buffer.allocUnsafe(4096);
let offset = POOL.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (offset + bytes > POOL.length) {
      randomFillSync(POOL);
      offset = 0;
    }
    const start = offset;
    offset += bytes;
    // An all-zero id is invalid in W3C Trace Context and B3; draw again (1 in 2^64 at worst).
    for (let i = start; i < offset; i++) if (POOL[i] !== 0) return POOL.toString('hex', start, offset);
  }
}

/** A 16-hex-digit span id (8 random bytes). */
export function newSpanId(): string {
  return randomHex(8);
}

/** A 32-hex-digit trace id (16 random bytes). */
export function newTraceId(): string {
  return randomHex(16);
}
