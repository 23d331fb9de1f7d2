// Where straitctl finds the control plane's API token by default (as kubectl has ~/.kube/config): the
// launcher behind `npm start` keeps the demo mesh's token there, so straitctl works with no extra step.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CONFIG_HOME/strait/token`, else `~/.config/strait/token`. */
export function userTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'strait', 'token');
}
