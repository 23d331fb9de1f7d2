// Secrets the control plane keeps in files of mode 0600: the join token, the API token and the root's key.
// Each is read when present and created at first start otherwise; replicas sharing the folder may start
// together, so a file is created exclusively and the loser reads the winner's.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes `text` so that only the owner can read it (the folder too is made 0700 when created). */
export async function writePrivate(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

/** Creates `file` with `text` (0600) unless it exists; false when another process made it first. */
export async function createPrivate(file: string, text: string): Promise<boolean> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, text, { mode: 0o600, flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** The text of a file another process is writing, once it has some (for up to 5 s). */
export async function readWhenWritten(file: string): Promise<string> {
  for (let waited = 0; ; waited += 50) {
    try {
      const text = (await readFile(file, 'utf8')).trim();
      if (text !== '' || waited >= 5000) return text;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || waited >= 5000) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
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
  if (await createPrivate(file, `${token}\n`)) return { token, created: true };
  return { token: await readWhenWritten(file), created: false };
}
