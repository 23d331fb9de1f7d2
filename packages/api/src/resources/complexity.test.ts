// The pre-parse check refuses pathological nesting and document counts fast and passes real configuration.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findComplexityProblem, MAX_DOCUMENTS, MAX_NESTING_DEPTH } from './complexity.ts';

const DEMO = new URL('../../../demo/mesh/', import.meta.url).pathname;

describe('findComplexityProblem', () => {
  it('passes every file of the demo mesh', () => {
    for (const file of readdirSync(DEMO).filter((f) => f.endsWith('.yaml')))
      expect([file, findComplexityProblem(readFileSync(join(DEMO, file), 'utf8'))]).toEqual([
        file,
        undefined,
      ]);
  });

  it('refuses deep flow nesting, even unclosed', () => {
    expect(findComplexityProblem('['.repeat(1_900_000))?.message).toMatch(/deeper than 64/);
    expect(findComplexityProblem(`${'['.repeat(40)}${']'.repeat(40)}`)).toBeUndefined();
  });

  it('counts compact sequences and block indentation', () => {
    expect(findComplexityProblem(`${'- '.repeat(MAX_NESTING_DEPTH + 1)}x`)?.line).toBe(1);
    let deep = '';
    for (let i = 0; i <= MAX_NESTING_DEPTH; i++) deep += `${' '.repeat(i)}k:\n`;
    expect(findComplexityProblem(deep)?.line).toBe(MAX_NESTING_DEPTH + 1);
    expect(findComplexityProblem(deep.split('\n').slice(0, 40).join('\n'))).toBeUndefined();
  });

  it('ignores brackets inside quotes and comments', () => {
    const text = `a: "${'['.repeat(100)}"\nb: '${'{'.repeat(100)}'\n# ${'['.repeat(100)}\nc: x # ${'['.repeat(100)}\n`;
    expect(findComplexityProblem(text)).toBeUndefined();
  });

  it('refuses more documents than any configuration has', () => {
    expect(findComplexityProblem('---\na: 1\n'.repeat(MAX_DOCUMENTS + 1))?.message).toMatch(/documents/);
    expect(findComplexityProblem('---\na: 1\n'.repeat(10))).toBeUndefined();
  });
});
