// Finds the external programs the benchmark drives (nginx, haproxy, wrk) and says what is missing.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Tools {
  nginx: string | undefined;
  haproxy: string | undefined;
  wrk: string | undefined;
}

/** Debian packages that provide each tool. */
export const PACKAGE_OF: Record<keyof Tools, string> = {
  nginx: 'nginx-light',
  haproxy: 'haproxy',
  wrk: 'wrk',
};

/** The first executable named `name` on PATH or in the sbin folders (nginx and haproxy live there). */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function findTools(): Tools {
  return { nginx: findExecutable('nginx'), haproxy: findExecutable('haproxy'), wrk: findExecutable('wrk') };
}

export function missingTools(tools: Tools): (keyof Tools)[] {
  return (Object.keys(tools) as (keyof Tools)[]).filter((name) => tools[name] === undefined);
}

/** A message naming what is missing and the apt-get line that installs it. */
export function missingMessage(missing: (keyof Tools)[]): string {
  const packages = missing.map((name) => PACKAGE_OF[name]).join(' ');
  return (
    `bench: missing ${missing.join(', ')} (nothing is installed automatically).\n` +
    `  Install with:  sudo apt-get install ${packages}\n` +
    '  (the full set: sudo apt-get install nginx-light haproxy wrk)\n' +
    '  Or run without nginx/HAProxy rows:  npm run bench -- --skip-missing   (wrk is always required)\n'
  );
}
