// The discovery stream's delta message as bytes. Each resource's JSON is encoded once and reused for every
// proxy sent the same resource object (sidecars share most of theirs); the version and nonce come first in
// the line, so a reader can tell what a message is from its head.
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { type DeltaMessage, type DiscoveryResource, resourceJson } from '@strait/api';

/** Pieces shorter than this are copied into the surrounding text rather than written on their own. */
const SMALL = 1024;

/** Encoded JSON per resource; entries go when the configs holding the resources are dropped. */
const encoded = new WeakMap<DiscoveryResource, Buffer>();

/** A resource's JSON as the stream carries it (what JSON.stringify gives), encoded once per resource object. */
export function encodedResource(resource: DiscoveryResource): Buffer {
  let bytes = encoded.get(resource);
  if (!bytes) {
    const { type, name, version } = resource;
    bytes = Buffer.from(
      `{"type":${JSON.stringify(type)},"name":${JSON.stringify(name)},"version":${JSON.stringify(version)},` +
        `"resource":${resourceJson(resource)}}`,
    );
    encoded.set(resource, bytes);
  }
  return bytes;
}

/**
 * The newline-terminated line `JSON.stringify(message)` would give for this delta (keys in the order
 * type, version, nonce, full, removed, resources), as a list of pieces to write in order.
 */
export function deltaLine(message: Omit<DeltaMessage, 'type'>): (Buffer | string)[] {
  const pieces: (Buffer | string)[] = [];
  let text =
    `{"type":"delta","version":${JSON.stringify(message.version)},"nonce":${JSON.stringify(message.nonce)}` +
    `${message.full ? ',"full":true' : ''},"removed":${JSON.stringify(message.removed)},"resources":[`;
  message.resources.forEach((resource, i) => {
    if (i > 0) text += ',';
    const bytes = encodedResource(resource);
    if (bytes.length < SMALL) {
      text += bytes.toString();
      return;
    }
    pieces.push(text, bytes);
    text = '';
  });
  pieces.push(`${text}]}\n`);
  return pieces;
}

/** The size of a line in bytes. */
export function lineBytes(pieces: readonly (Buffer | string)[]): number {
  let size = 0;
  for (const p of pieces) size += typeof p === 'string' ? Buffer.byteLength(p) : p.length;
  return size;
}

/**
 * Writes a line to a discovery stream without joining its pieces: the shared buffers go to the socket as
 * they are (one writev), yet the reader sees one HTTP chunk per message, because Node merges the writes of
 * a corked response into one chunk. `written` runs once the socket has taken the whole line. (Joining the
 * pieces cost a fresh copy of every big resource per proxy.)
 */
export function writeLine(
  stream: Writable & { cork(): void; uncork(): void; socket?: Socket | null },
  pieces: readonly (Buffer | string)[],
  written: (err?: Error | null) => void,
): void {
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
