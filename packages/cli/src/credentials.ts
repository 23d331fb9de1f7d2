// The API token straitctl sends: --token, else STRAIT_TOKEN, else the file named by STRAIT_TOKEN_FILE (set
// in the control plane's container), else the user's token file (where `npm start` leaves it).
import { readFileSync } from 'node:fs';
import { userTokenFile } from '@strait/api';
import { CliError } from './client.ts';

export function resolveToken(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag) return flag;
  if (env.STRAIT_TOKEN) return env.STRAIT_TOKEN;
  if (env.STRAIT_TOKEN_FILE) return readToken(env.STRAIT_TOKEN_FILE, true);
  return readToken(userTokenFile(env), false);
}

function readToken(file: string, required: boolean): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read the API token from ${file}: ${(err as Error).message}`);
  }
}
