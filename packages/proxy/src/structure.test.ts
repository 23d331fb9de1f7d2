// The proxy's shape, checked: the request path (codec, listener, filters, router, upstream) never imports
// telemetry (it reports through the observer), only codec/llhttp.ts touches Node's internal parser binding,
// and no file grows past 400 lines.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('.', import.meta.url).pathname;
const REQUEST_PATH = ['codec', 'listener', 'filters', 'router', 'upstream'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const all = files(SRC).map((file) => ({ file: relative(SRC, file), text: readFileSync(file, 'utf8') }));

describe('the proxy source tree', () => {
  it('keeps telemetry out of the request path', () => {
    const offenders = all.filter(
      ({ file, text }) =>
        REQUEST_PATH.includes(file.split('/')[0] as string) &&
        !file.endsWith('.test.ts') &&
        /from '\.\.\/telemetry\//.test(text),
    );
    expect(offenders.map((f) => f.file)).toEqual([]);
  });

  it('touches the internal llhttp binding in one file only', () => {
    const users = all.filter(
      ({ text }) => text.includes("'_http_common'") && !text.includes('structure.test'),
    );
    expect(users.map((f) => f.file).filter((f) => !f.endsWith('.test.ts'))).toEqual(['codec/llhttp.ts']);
  });

  it('has no file over 400 lines', () => {
    const long = all.filter(({ text }) => text.split('\n').length - 1 > 400).map((f) => f.file);
    expect(long).toEqual([]);
  });
});
