// Reads a snapshot file (YAML or JSON; YAML is a superset) for --bootstrap. JSON is read with JSON.parse;
// the YAML parser is loaded only for a file that is not JSON, so a proxy started from JSON never holds it.
import { readFile } from 'node:fs/promises';
import { Errors, parseSnapshot, type Snapshot, StraitError, snapshotVersion } from '@strait/api';

/** JSON when the text is JSON, else YAML (loaded on demand). */
async function parseDocument(text: string): Promise<unknown> {
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Not JSON after all (YAML flow style, or broken): YAML decides, and words the error.
    }
  }
  const yaml = await import('yaml');
  // yaml is CommonJS: in the bundle its exports arrive as the default export only.
  const parse = yaml.parse ?? (yaml as unknown as { default: typeof yaml }).default.parse;
  return parse(text);
}

export async function readBootstrap(file: string): Promise<Snapshot> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new StraitError(Errors.BOOTSTRAP_READ, `${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = await parseDocument(text);
  } catch (err) {
    throw new StraitError(Errors.SNAPSHOT_INVALID, `${file}: ${(err as Error).message}`, { cause: err });
  }
  // A hand-written file may leave the version out: it is then the content hash.
  if (doc && typeof doc === 'object' && !('version' in doc)) {
    (doc as Record<string, unknown>).version = snapshotVersion(doc as never);
  }
  return parseSnapshot(doc, file);
}
