// The discovery stream's snapshot message as bytes, built from pieces: the JSON of each listener, cluster
// and policy object is encoded once and reused by every proxy whose snapshot shares that object.
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { VersionedSnapshot } from '../translate/snapshot.ts';

/** Pieces shorter than this are copied into the surrounding text rather than written on their own. */
const SMALL = 1024;

/** Encoded JSON per object; entries go when the snapshots holding the objects are dropped. */
const encoded = new WeakMap<object, Buffer>();

function encode(value: unknown): Buffer | string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  let bytes = encoded.get(value);
  if (!bytes) {
    bytes = Buffer.from(JSON.stringify(value));
    encoded.set(value, bytes);
  }
  return bytes;
}

/**
 * The newline-terminated line `JSON.stringify({type: 'snapshot', version, nonce, snapshot})` would give,
 * as a list of pieces to write in order (the version and nonce come first, before the snapshot).
 */
export function snapshotLine(nonce: string, snapshot: VersionedSnapshot): (Buffer | string)[] {
  const version = JSON.stringify(snapshot.version);
  const pieces: (Buffer | string)[] = [];
  let text = `{"type":"snapshot","version":${version},"nonce":${JSON.stringify(nonce)},"snapshot":{"version":${version}`;
  const flush = (next: Buffer | string) => {
    if (typeof next === 'string' || next.length < SMALL) {
      text += next.toString();
      return;
    }
    if (text) pieces.push(text);
    pieces.push(next);
    text = '';
  };
  for (const [key, value] of Object.entries(snapshot)) {
    if (key === 'version' || value === undefined || typeof value === 'function') continue;
    text += `,${JSON.stringify(key)}:`;
    if (Array.isArray(value)) {
      text += '[';
      value.forEach((item: unknown, i) => {
        if (i > 0) text += ',';
        flush(item === undefined ? 'null' : encode(item));
      });
      text += ']';
    } else flush(encode(value));
  }
  text += '}}\n';
  pieces.push(text);
  return pieces;
}

/**
 * Writes the line to a discovery stream without joining its pieces: the shared buffers go to the
 * socket as they are (one writev), yet the reader still sees one HTTP chunk per message, because
 * Node merges the writes of a corked response into one chunk (a reader that joins its input per
 * chunk would pay for every extra one). `written` runs once the socket has taken the whole line.
 * Joining the pieces instead cost a fresh copy of the whole snapshot per proxy (160 KB each with
 * 1000 sidecars in the mesh): at 1000 proxies that copying was the largest single cost of a push.
 */
export function writeSnapshotLine(
  stream: Writable & { cork(): void; uncork(): void; socket?: Socket | null },
  nonce: string,
  snapshot: VersionedSnapshot,
  written: (err?: Error | null) => void,
): void {
  const pieces = snapshotLine(nonce, snapshot);
  // The response corks its socket too, but uncorks it before it writes the merged chunk; the outer
  // cork holds the chunk's pieces until all are queued, so they leave in one system call.
  const socket = stream.socket ?? undefined;
  socket?.cork();
  stream.cork();
  pieces.forEach((piece, i) => {
    stream.write(piece, i === pieces.length - 1 ? written : undefined);
  });
  stream.uncork();
  socket?.uncork();
}

/** The line as one buffer (tests, and writers that cannot cork). */
export function snapshotLineBytes(nonce: string, snapshot: VersionedSnapshot): Buffer {
  const pieces = snapshotLine(nonce, snapshot);
  let size = 0;
  for (const p of pieces) size += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of pieces) at += typeof p === 'string' ? bytes.write(p, at) : p.copy(bytes, at);
  return bytes;
}

/** The whole line as one string (tests, and callers that do not care about sharing). */
export function snapshotLineText(nonce: string, snapshot: VersionedSnapshot): string {
  return snapshotLine(nonce, snapshot)
    .map((p) => p.toString())
    .join('');
}
