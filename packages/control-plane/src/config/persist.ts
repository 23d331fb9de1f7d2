// Crash-safe file writes for the config directory: write a temp file, fsync it, rename it over the
// target, fsync the directory. A crash at any point leaves either the old file or the new one.
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Temp files start with a dot and end in .tmp, so the loader and the watcher skip them. */
export function isTempName(file: string): boolean {
  return file.startsWith('.') || file.endsWith('.tmp');
}

/** Longest resource name kept whole in a file name; file systems allow 255 bytes per name. */
const MAX_NAME_IN_FILE = 100;

/**
 * The file a new resource is written to: `<namespace.>kind-name.yaml`. A long name (names may have 253
 * characters, namespaces 63) is cut and given a hash of the whole, so no name is too long for the disk.
 */
export function resourceFileName(kind: string, name: string, namespace: string): string {
  const ns = namespace === 'default' ? '' : `${namespace}.`;
  const whole = `${ns}${kind.toLowerCase()}-${name}`;
  if (whole.length <= MAX_NAME_IN_FILE) return `${whole}.yaml`;
  const hash = createHash('sha256').update(whole).digest('hex').slice(0, 12);
  return `${whole.slice(0, MAX_NAME_IN_FILE - 13)}-${hash}.yaml`;
}

export async function writeFileAtomic(dir: string, file: string, text: string): Promise<void> {
  // The temp name stays short whatever the file's length: a prefix of it, the pid and a random part.
  const temp = join(dir, `.${file.slice(0, 100)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'w', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, join(dir, file));
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

export async function removeFileDurably(dir: string, file: string): Promise<void> {
  await unlink(join(dir, file));
  await fsyncDir(dir);
}
