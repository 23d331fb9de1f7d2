// Tests --bootstrap file reading: JSON and YAML both give the same snapshot; bad files say which and why.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Errors, StraitError } from '@strait/api';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readBootstrap } from './bootstrap.ts';

const dir = mkdtempSync(join(tmpdir(), 'strait-bootstrap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const doc = {
  listeners: [{ name: 'in', kind: 'inbound', port: 15006, virtualHosts: [] }],
  clusters: [{ name: 'c', endpoints: [{ address: '127.0.0.1', port: 8080 }] }],
};

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('readBootstrap', () => {
  it('reads JSON and YAML to the same snapshot, versioned by content when no version is given', async () => {
    const fromJson = await readBootstrap(file('a.json', JSON.stringify(doc)));
    const fromYaml = await readBootstrap(file('a.yaml', stringify(doc)));
    expect(fromYaml).toEqual(fromJson);
    expect(fromJson.version).not.toBe('');
    expect(fromJson.clusters[0]?.endpoints[0]?.port).toBe(8080);
  });

  it('reads YAML flow style that starts like JSON', async () => {
    const snapshot = await readBootstrap(file('flow.yaml', `{ version: v1, listeners: [], clusters: [] }\n`));
    expect(snapshot.version).toBe('v1');
  });

  it('rejects a broken file with SNAPSHOT_INVALID naming the file', async () => {
    const path = file('broken.json', '{"listeners": [');
    const err = await readBootstrap(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StraitError);
    expect((err as StraitError).code).toBe(Errors.SNAPSHOT_INVALID.code);
    expect((err as Error).message).toContain(path);
  });

  it('says when the file cannot be read', async () => {
    const err = await readBootstrap(join(dir, 'missing.json')).catch((e: unknown) => e);
    expect((err as StraitError).code).toBe(Errors.BOOTSTRAP_READ.code);
  });
});
