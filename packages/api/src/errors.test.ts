// Every error code in the catalogue is documented in docs/errors.md, with the same HTTP status.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Errors } from './errors.ts';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

describe('error catalogue', () => {
  it.each(Object.values(Errors).map((e) => [e.code, e.status] as const))(
    '%s is documented',
    (code, status) => {
      const row = doc.split('\n').find((line) => line.includes(`\`${code}\``));
      expect(row, `${code} missing from docs/errors.md`).toBeDefined();
      expect(row).toContain(`| ${status} |`);
    },
  );

  it('codes are unique', () => {
    const codes = Object.values(Errors).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
