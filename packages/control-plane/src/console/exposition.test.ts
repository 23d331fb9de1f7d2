// The exposition parser on what the proxies really print: escapes, histograms with labels, odd values.
import { describe, expect, it } from 'vitest';
import { parseExposition } from './exposition.ts';

describe('parseExposition', () => {
  it('reads names, labels with escapes, and values; skips comments and timestamps', () => {
    const text = [
      '# HELP x_total a counter',
      '# TYPE x_total counter',
      'x_total{a="q\\"uo\\\\te",b="line\\nbreak"} 5',
      'x_total{a="b",} 7 1712345678000',
      'plain 3.5',
      'inf_gauge +Inf',
      '',
    ].join('\n');
    expect(parseExposition(text)).toEqual([
      { name: 'x_total', labels: { a: 'q"uo\\te', b: 'line\nbreak' }, value: 5 },
      { name: 'x_total', labels: { a: 'b' }, value: 7 },
      { name: 'plain', labels: {}, value: 3.5 },
      { name: 'inf_gauge', labels: {}, value: Number.POSITIVE_INFINITY },
    ]);
  });

  it('keeps every labelled histogram series apart (what parse-prometheus-text-format 1.1.1 merged)', () => {
    const text = [
      '# TYPE h histogram',
      'h_bucket{src="a",le="0.5"} 1',
      'h_bucket{src="a",le="+Inf"} 3',
      'h_sum{src="a"} 4.5',
      'h_count{src="a"} 3',
      'h_bucket{src="b",le="0.5"} 2',
      'h_bucket{src="b",le="+Inf"} 4',
    ].join('\n');
    const samples = parseExposition(text);
    expect(
      samples.filter((s) => s.name === 'h_bucket').map((s) => [s.labels.src, s.labels.le, s.value]),
    ).toEqual([
      ['a', '0.5', 1],
      ['a', '+Inf', 3],
      ['b', '0.5', 2],
      ['b', '+Inf', 4],
    ]);
    expect(samples.find((s) => s.name === 'h_count')?.value).toBe(3);
  });

  it('skips lines that do not parse instead of failing the scrape', () => {
    expect(parseExposition('ok 1\nbroken{a="1" 2\n{nolabelname} 3\nnovalue\nalso_ok{x="y"} 2')).toEqual([
      { name: 'ok', labels: {}, value: 1 },
      { name: 'also_ok', labels: { x: 'y' }, value: 2 },
    ]);
  });
});
