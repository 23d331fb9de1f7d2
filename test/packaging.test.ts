// straitctl and strait-proxy install like tools: `npm pack` of @strait/cli and @strait/proxy gives tarballs
// that `npm install` (offline: they need nothing from a registry) into an empty folder and run on Node 24
// with TypeScript support switched off; in the repository, `npx straitctl` and `npx strait-proxy` work.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, spawnNode, waitFor } from './support/processes.ts';
import { cluster, listener, route, snapshot } from './support/snapshots.ts';
import { startUpstream, type TestUpstream } from './support/upstream.ts';

const ADDRESS = '127.0.160.1';
const work = mkdtempSync(join(tmpdir(), 'strait-pack-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
// Node 24 (the one running the tests) first on PATH, for npm itself and for the bins' `#!/usr/bin/env node`.
const PATH = [dirname(process.execPath), process.env.PATH].join(delimiter);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: { ...process.env, PATH, ...env }, timeout: 120_000, maxBuffer: 10_000_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function mustRun(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = await run(command, args, cwd, env);
  expect(result.code, `${command} ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

/** The installed command, run with type stripping off: nothing it loads may be TypeScript. */
function installed(bin: string, args: string[]): Promise<Run> {
  return run(join(app, 'node_modules/.bin', bin), args, app, {
    NODE_OPTIONS: '--no-experimental-strip-types',
  });
}

interface PackEntry {
  name: string;
  filename: string;
  files: { path: string; mode: number }[];
}

let packed: PackEntry[] = [];

beforeAll(async () => {
  mkdirSync(tarballs, { recursive: true });
  mkdirSync(app, { recursive: true });
  const pack = await mustRun(
    'npm',
    ['pack', '-w', '@strait/cli', '-w', '@strait/proxy', '--pack-destination', tarballs, '--json'],
    REPO,
  );
  packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as PackEntry[];
  writeFileSync(join(app, 'package.json'), '{ "name": "empty", "private": true }\n');
  await mustRun(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', ...packed.map((p) => join(tarballs, p.filename))],
    app,
  );
}, 180_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('npm pack of @strait/cli and @strait/proxy', () => {
  it('holds compiled JavaScript only: the bin with a shebang, the bundle, the manifest and licences', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(['@strait/cli', '@strait/proxy']);
    for (const p of packed) {
      const paths = p.files.map((f) => f.path);
      expect(
        paths.filter((f) => f.endsWith('.ts')),
        p.name,
      ).toEqual([]);
      expect(
        paths.every((f) => f === 'package.json' || /^(bin|dist)\//.test(f)),
        paths.join(', '),
      ).toBe(true);
      expect(paths).toContain('dist/THIRD-PARTY-LICENSES.txt');
      const bin = p.files.find((f) => f.path.startsWith('bin/'));
      expect(bin && (bin.mode & 0o111) !== 0, `${p.name}'s bin is executable`).toBe(true);
    }
  });

  it('declares Node 24, its files and bin, and no runtime dependency (everything is in the bundle)', () => {
    for (const name of ['cli', 'proxy']) {
      const manifest = JSON.parse(
        readFileSync(join(app, 'node_modules/@strait', name, 'package.json'), 'utf8'),
      ) as Record<string, unknown>;
      expect(manifest.engines).toEqual({ node: '>=24' });
      expect(manifest.files).toEqual(['bin', 'dist']);
      expect(manifest.dependencies).toBeUndefined();
      const bin = Object.values(manifest.bin as Record<string, string>)[0] as string;
      const text = readFileSync(join(app, 'node_modules/@strait', name, bin), 'utf8');
      expect(text.startsWith('#!/usr/bin/env node\n'), `${name}'s bin starts with a shebang`).toBe(true);
    }
  });

  it('imports nothing from outside the bundle but Node’s own modules (no dev-only import)', () => {
    const builtins = new Set(builtinModules);
    for (const [pkg, bundle] of [
      ['cli', 'dist/straitctl.mjs'],
      ['proxy', 'dist/strait-proxy.mjs'],
    ] as const) {
      const code = readFileSync(join(app, 'node_modules/@strait', pkg, bundle), 'utf8');
      // A specifier is a module name or a relative path that ends a statement or a call; prose such as
      // commander's "remove description parameter from '.command()'", tsyringe's "add 'import
      // \"reflect-metadata\"' to the top" or @peculiar/x509's "from 'alg' argument" is none.
      const specifiers = [
        ...code.matchAll(
          /(?:\bfrom|\bimport|\brequire)\s*\(?\s*["']([@\w][\w./:@-]*|\.\.?\/[\w./@-]+)["'](?=\s*[;),\n])/g,
        ),
      ].map((m) => m[1] as string);
      expect(specifiers.length).toBeGreaterThan(0);
      const foreign = specifiers.filter(
        (s) => !s.startsWith('node:') && !s.startsWith('./') && !builtins.has(s),
      );
      expect(foreign, `${pkg}: imports from outside its bundle`).toEqual([]);
    }
  });

  it('installs straitctl that runs: help, and offline validation with the same errors as the repo', async () => {
    const help = await installed('straitctl', ['--help']);
    expect(help.code, help.stderr).toBe(0);
    for (const command of ['apply', 'get', 'proxy-status', 'proxy-config', 'describe', 'analyze'])
      expect(help.stdout).toContain(command);
    const good = await installed('straitctl', [
      'analyze',
      '-f',
      join(REPO, 'packages/demo/mesh/service-a.yaml'),
    ]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/No validation issues found/);
    const typo = join(work, 'typo.yaml');
    writeFileSync(
      typo,
      readFileSync(join(REPO, 'packages/demo/mesh/service-b.yaml'), 'utf8').replace(
        'weight: 10',
        'weigth: 10',
      ),
    );
    const bad = await installed('straitctl', ['analyze', '-f', typo]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/spec\.http\[0\]\.route\[1\]\.weigth: .*did you mean "weight"\?/);
  });

  it('installs strait-proxy that serves traffic from a bootstrap file', async () => {
    const upstream: TestUpstream = await startUpstream('packed', ADDRESS);
    const file = join(work, 'edge.json');
    writeFileSync(
      file,
      JSON.stringify(
        snapshot(
          [listener('gateway', 8080, [route('all', 'up')])],
          [cluster('up', [{ address: upstream.address, port: upstream.port }])],
        ),
      ),
    );
    const args = ['--role', 'ingress', '--address', ADDRESS, '--bootstrap', file, '--log-level', 'warn'];
    const proxy = spawnNode(join(app, 'node_modules/.bin/strait-proxy'), args, {
      NODE_OPTIONS: '--no-experimental-strip-types',
    });
    try {
      await waitFor('the installed proxy to be ready', async () => {
        if (proxy.child.exitCode !== null) throw new Error(`exited: ${proxy.output()}`);
        return (await fetch(`http://${ADDRESS}:15021/healthz/ready`)).status === 200 ? true : undefined;
      });
      const res = await fetch(`http://${ADDRESS}:8080/hello`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ upstream: 'packed', url: '/hello' });
    } finally {
      await proxy.stop();
      await upstream.close();
    }
  }, 30_000);
});

describe('in the repository, after npm ci', () => {
  it('npx straitctl and npx strait-proxy run', async () => {
    const ctl = await mustRun('npx', ['--no-install', 'straitctl', '--help'], REPO);
    expect(ctl.stdout).toMatch(/Usage: straitctl/);
    const proxy = await mustRun('npx', ['--no-install', 'strait-proxy', '--help'], REPO);
    expect(proxy.stdout).toMatch(/usage: strait-proxy --role/);
  }, 60_000);
});
