// Reading `-f FILE|DIR|-` for apply, delete and analyze: YAML/JSON files, a directory's files, or stdin.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CliError } from './client.ts';

export interface SourceFile {
  file: string;
  text: string;
}

const CONFIG_FILE = /\.(ya?ml|json)$/i;

export async function readSources(
  paths: readonly string[],
  stdin: () => Promise<string>,
): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  for (const path of paths) {
    if (path === '-') {
      out.push({ file: '<stdin>', text: await stdin() });
      continue;
    }
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      throw new CliError(`cannot read ${path}: no such file or directory.`);
    }
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => CONFIG_FILE.test(n) && !n.startsWith('.')).sort();
      for (const name of names)
        out.push({ file: join(path, name), text: await readFile(join(path, name), 'utf8') });
      continue;
    }
    out.push({ file: path, text: await readFile(path, 'utf8') });
  }
  if (out.length === 0)
    throw new CliError(`no YAML or JSON files found in ${paths.map((p) => basename(p)).join(', ')}.`);
  return out;
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
