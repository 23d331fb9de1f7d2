// The docs stay true: every flag and STRAIT_* variable that a program prints with --help (the proxy, the
// control plane, straitctl and each of its commands, the launcher) is in docs/, as is every error code and
// response flag; the configuration field tables match the schemas; README's and the docs' links resolve
// inside the repository.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Errors, ResponseFlags } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { DOC, fieldTables, withTables } from '../scripts/config-reference.ts';
import { REPO } from './support/processes.ts';

const DOCS = join(REPO, 'docs');
const docFiles = readdirSync(DOCS).filter((f) => f.endsWith('.md'));
const docs = docFiles.map((f) => readFileSync(join(DOCS, f), 'utf8')).join('\n');

const PROGRAMS: { name: string; script: string; args: string[] }[] = [
  { name: 'strait-proxy', script: 'packages/proxy/src/main.ts', args: [] },
  { name: 'strait-control-plane', script: 'packages/control-plane/src/main.ts', args: [] },
  { name: 'npm start', script: 'packages/demo/src/launcher/main.ts', args: [] },
  { name: 'straitctl', script: 'packages/cli/src/main.ts', args: [] },
  ...[
    'apply',
    'delete',
    'get',
    'proxy-status',
    'proxy-config',
    'analyze',
    'describe request',
    'describe pod',
  ].map((command) => ({
    name: `straitctl ${command}`,
    script: 'packages/cli/src/main.ts',
    args: command.split(' '),
  })),
];

async function help(script: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, script), ...args, '--help'], {
    cwd: REPO,
    env: { ...process.env, STRAIT_SERVER: 'http://127.0.0.1:9' },
  });
  return stdout;
}

/** `--flag`, `--[no-]flag` as both forms, and commander's `-H, --header`: every option a help text names. */
function flagsIn(text: string): string[] {
  const flags = new Set<string>();
  for (const m of text.matchAll(/(?<![\w-])--(\[no-\])?([a-z][a-z0-9-]*)/g)) {
    flags.add(`--${m[2]}`);
    if (m[1]) flags.add(`--no-${m[2]}`);
  }
  for (const m of text.matchAll(/^\s+(-[a-zA-Z]), --/gm)) flags.add(m[1] as string);
  return [...flags];
}

/** True when the docs name `flag` as a whole word (so `--port` is not found inside `--admin-port`). */
function documented(flag: string): boolean {
  const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`).test(docs);
}

/** GitHub's anchors for a Markdown file's headings: lower case, punctuation dropped, spaces as dashes. */
function anchorsOf(markdown: string): string[] {
  return [...markdown.matchAll(/^#+\s+(.+)$/gm)].map((m) =>
    (m[1] as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-'),
  );
}

describe('docs/', () => {
  it('finds the flags in help texts, including short and negated forms', () => {
    expect(flagsIn('  --[no-]access-log  --log-level LEVEL\n  -H, --header <h>  x')).toEqual([
      '--access-log',
      '--no-access-log',
      '--log-level',
      '--header',
      '-H',
    ]);
  });

  it.each(PROGRAMS)(
    'describes every flag and variable $name --help prints',
    async ({ script, args }) => {
      const text = await help(script, args);
      const flags = flagsIn(text);
      expect(flags.length, text).toBeGreaterThan(0);
      expect(flags.filter((f) => !documented(f))).toEqual([]);
      const variables = [...text.matchAll(/STRAIT_[A-Z_]+/g)].map((m) => m[0]);
      expect(variables.filter((v) => !documented(v))).toEqual([]);
    },
    30_000,
  );

  it('lists every error code of the catalogue and every response flag', () => {
    const codes = Object.values(Errors).map((e) => e.code);
    expect(codes.filter((code) => !documented(code))).toEqual([]);
    const troubleshooting = readFileSync(join(DOCS, 'troubleshooting.md'), 'utf8');
    const flags = Object.values(ResponseFlags).filter((f) => f !== '-');
    expect(flags.filter((f) => !troubleshooting.includes(`| \`${f}\` |`))).toEqual([]);
  });

  it("has configuration.md's field tables as the schemas make them (node scripts/config-reference.ts --write)", () => {
    const page = readFileSync(DOC, 'utf8');
    expect(page).toBe(withTables(page, fieldTables()));
  });

  it('links only to files inside the repository, and each link and anchor resolves', () => {
    const root = resolve(REPO);
    const problems: string[] = [];
    for (const file of [join(root, 'README.md'), ...docFiles.map((f) => join(DOCS, f))]) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const [target = '', anchor] = (m[1] as string).split('#');
        if (/^[a-z]+:/.test(target)) continue;
        const path = target === '' ? file : resolve(dirname(file), target);
        if (!path.startsWith(`${root}/`)) problems.push(`${file}: ${m[1]} leaves the repository`);
        else if (!existsSync(path)) problems.push(`${file}: ${m[1]} does not exist`);
        else if (anchor && !anchorsOf(readFileSync(path, 'utf8')).includes(anchor))
          problems.push(`${file}: ${m[1]} names no heading of ${target || 'this file'}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
