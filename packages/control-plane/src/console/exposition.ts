// Reads Prometheus's text exposition format (what every proxy serves on /stats/prometheus) into samples.
// Small on purpose: parse-prometheus-text-format 1.1.1 merged labelled histogram series (their labels,
// _sum and _count were lost), and the console needs nothing but name, labels and value.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample line of `text`; comments, blank lines and lines that do not parse are skipped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseLine(line: string): Sample | undefined {
  const name = NAME.exec(line)?.[0];
  if (!name) return undefined;
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    for (;;) {
      while (line[at] === ' ' || line[at] === ',') at++;
      if (line[at] === '}') {
        at++;
        break;
      }
      const labelName = LABEL_NAME.exec(line.slice(at))?.[0];
      if (!labelName) return undefined;
      at += labelName.length;
      if (line[at] !== '=' || line[at + 1] !== '"') return undefined;
      at += 2;
      let value = '';
      for (;;) {
        const c = line[at];
        if (c === undefined) return undefined;
        at++;
        if (c === '"') break;
        if (c === '\\') {
          const next = line[at++];
          value += next === 'n' ? '\n' : (next ?? '');
        } else value += c;
      }
      labels[labelName] = value;
    }
  }
  // The value, then an optional timestamp.
  const [valueText] = line.slice(at).trim().split(/\s+/);
  const value = parseValue(valueText);
  if (value === undefined) return undefined;
  return { name, labels, value };
}

function parseValue(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const n = Number(text);
  return Number.isNaN(n) ? undefined : n;
}
