// Secrets the control plane keeps in files of mode 0600: the join token, the API token and the root's key.
// Each is read when present and created at first start otherwise.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes `text` so that only the owner can read it (the folder too is made 0700 when created). */
export async function writePrivate(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

/** The token in `file`, made (32 random bytes, base64url) and written there if the file is missing. */
export async function loadOrCreateToken(file: string): Promise<{ token: string; created: boolean }> {
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token !== '') return { token, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('base64url');
  await writePrivate(file, `${token}\n`);
  return { token, created: true };
}
