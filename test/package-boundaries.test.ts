// The package boundaries the issue sets: @strait/api is the only contract. No package reaches into another
// package's files (only `@strait/api` and its `exports` subpaths may be imported), each package declares
// every module it imports, and no type @strait/api declares is declared again elsewhere.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const PACKAGES = join(ROOT, 'packages');

interface PackageJson {
  name: string;
  exports?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

interface Pkg {
  dir: string;
  json: PackageJson;
  files: string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

const packages: Pkg[] = readdirSync(PACKAGES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => {
    const dir = join(PACKAGES, e.name);
    const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    return { dir, json, files: sourceFiles(join(dir, 'src')) };
  });
const api = packages.find((p) => p.json.name === '@strait/api') as Pkg;
const rootJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** Every module specifier a file imports or re-exports, static or dynamic, type-only or not. */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** The package name of a bare specifier: `yaml`, `@strait/api/resources` -> `@strait/api`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

/** Tests, and `testing.ts`: a module's test helpers beside it, which only tests may import (checked below). */
const isTest = (file: string) => file.endsWith('.test.ts') || file.endsWith('/testing.ts');
const where = (file: string) => relative(ROOT, file);

describe('package boundaries', () => {
  it('no package imports another package’s files; @strait/api only through its exports', () => {
    const problems: string[] = [];
    for (const pkg of packages) {
      for (const file of pkg.files) {
        for (const spec of importsOf(file)) {
          if (spec.startsWith('.')) {
            const target = resolve(dirname(file), spec);
            if (!target.startsWith(pkg.dir + sep))
              problems.push(`${where(file)} imports ${spec}, outside ${pkg.json.name}`);
            continue;
          }
          if (!spec.startsWith('@strait/')) continue;
          const name = packageOf(spec);
          if (name === pkg.json.name) continue;
          if (name !== api.json.name) {
            problems.push(`${where(file)} imports ${spec}: packages share only ${api.json.name}`);
            continue;
          }
          const subpath = `.${spec.slice(name.length)}`;
          if (!Object.hasOwn(api.json.exports ?? {}, subpath))
            problems.push(`${where(file)} imports ${spec}, which ${api.json.name}'s exports do not list`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('only tests import the test helpers (testing.ts), so no dev tool reaches a bundle', () => {
    const problems: string[] = [];
    for (const pkg of packages) {
      for (const file of pkg.files.filter((f) => !isTest(f))) {
        for (const spec of importsOf(file)) {
          if (spec.startsWith('.') && spec.endsWith('/testing.ts'))
            problems.push(`${where(file)} imports ${spec}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('every package declares what it imports (tests may also use the workspace’s dev tools)', () => {
    const builtins = new Set(builtinModules);
    const problems: string[] = [];
    for (const pkg of packages) {
      const declared = new Set([
        ...Object.keys(pkg.json.dependencies ?? {}),
        ...Object.keys(pkg.json.devDependencies ?? {}),
      ]);
      for (const file of pkg.files) {
        for (const spec of importsOf(file)) {
          if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
          const name = packageOf(spec);
          if (name === pkg.json.name || declared.has(name)) continue;
          if (isTest(file) && Object.hasOwn(rootJson.devDependencies ?? {}, name)) continue;
          problems.push(
            `${where(file)} imports ${name}, which ${pkg.json.name}'s package.json does not declare`,
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('declares each type that crosses a process boundary once, in @strait/api', () => {
    const contract = new Set(api.files.filter((f) => !isTest(f)).flatMap((f) => declaredTypes(f, true)));
    // The names checked are @strait/api's own, so the check is only as good as that list: it must hold
    // the wire types the issue named.
    for (const name of [
      'ProxyStatus',
      'AckMessage',
      'DiscoveryMessage',
      'ApplyResult',
      'ErrorBody',
      'NodeInfo',
    ])
      expect(contract.has(name), `${name} is declared in @strait/api`).toBe(true);
    const problems: string[] = [];
    const exportedBy = new Map<string, string[]>();
    for (const pkg of packages) {
      if (pkg === api) continue;
      for (const file of pkg.files) {
        for (const name of declaredTypes(file)) {
          if (contract.has(name))
            problems.push(`${where(file)} declares ${name}, which ${api.json.name} already declares`);
        }
        for (const name of declaredTypes(file, true))
          exportedBy.set(name, [...(exportedBy.get(name) ?? []), `${pkg.json.name} (${where(file)})`]);
      }
    }
    for (const [name, owners] of exportedBy) {
      const pkgs = new Set(owners.map((o) => o.split(' ')[0]));
      if (pkgs.size > 1)
        problems.push(`${name} is exported by ${owners.join(' and ')}: share it through ${api.json.name}`);
    }
    expect(problems).toEqual([]);
  });
});

/** Names of the interfaces, type aliases, enums and classes a file declares at its top level. */
function declaredTypes(file: string, exportedOnly = false): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const names: string[] = [];
  for (const statement of source.statements) {
    if (
      !ts.isInterfaceDeclaration(statement) &&
      !ts.isTypeAliasDeclaration(statement) &&
      !ts.isEnumDeclaration(statement) &&
      !ts.isClassDeclaration(statement)
    )
      continue;
    const exported = ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
    if (exportedOnly && !exported) continue;
    if (statement.name) names.push(statement.name.text);
  }
  return names;
}
