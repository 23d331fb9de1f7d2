// Reads a snapshot file (YAML or JSON; YAML is a superset) for --bootstrap.
import { readFile } from 'node:fs/promises';
import { Errors, parseSnapshot, type Snapshot, StraitError, snapshotVersion } from '@strait/api';
import { parse } from 'yaml';

export async function readBootstrap(file: string): Promise<Snapshot> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new StraitError(Errors.BOOTSTRAP_READ, `${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new StraitError(Errors.SNAPSHOT_INVALID, `${file}: ${(err as Error).message}`, { cause: err });
  }
  // A hand-written file may leave the version out: it is then the content hash.
  if (doc && typeof doc === 'object' && !('version' in doc)) {
    (doc as Record<string, unknown>).version = snapshotVersion(doc as never);
  }
  return parseSnapshot(doc, file);
}
