// Crash-safe file writes for the config directory: write a temp file, fsync it, rename it over the
// target, fsync the directory. A crash at any point leaves either the old file or the new one.
import { randomBytes } from 'node:crypto';
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

export async function writeFileAtomic(dir: string, file: string, text: string): Promise<void> {
  const temp = join(dir, `.${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
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
