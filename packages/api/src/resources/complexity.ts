// A linear pre-check of configuration text before YAML parsing: the parser's time and memory grow with
// nesting depth and document count, so text that nests deeper or splits into more documents than any real
// configuration is refused at once, before it can hold the event loop.

/** Far above any Strait or Istio resource (the deepest, a VirtualService, nests about 12 levels). */
export const MAX_NESTING_DEPTH = 64;
export const MAX_DOCUMENTS = 1000;

export interface ComplexityProblem {
  line: number;
  message: string;
}

/**
 * Finds the first place where `text` nests deeper than MAX_NESTING_DEPTH or holds more than
 * MAX_DOCUMENTS documents. Depth counts block indentation levels, compact `- `/`? ` indicators and open
 * flow brackets outside quotes and comments; it may over-count odd but legal YAML, never under-count.
 */
export function findComplexityProblem(text: string): ComplexityProblem | undefined {
  const indents: number[] = [];
  let flow = 0;
  let documents = 1;
  let line = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    line++;
    let i = start;
    while (i < end && text.charCodeAt(i) === 0x20) i++;
    const indent = i - start;
    const blank = i >= end || text[i] === '#' || text[i] === '\r';
    if (!blank) {
      if (indent === 0 && text.startsWith('---', i) && (i + 3 >= end || /\s/.test(text[i + 3] as string))) {
        if (++documents > MAX_DOCUMENTS)
          return { line, message: `more than ${MAX_DOCUMENTS} documents in one text` };
        indents.length = 0;
      }
      if (flow === 0) {
        while (indents.length > 0 && (indents.at(-1) as number) >= indent) indents.pop();
        indents.push(indent);
      }
      let compact = 0;
      while (i + 1 < end && (text[i] === '-' || text[i] === '?') && text[i + 1] === ' ') {
        compact++;
        i += 2;
        while (i < end && text.charCodeAt(i) === 0x20) i++;
      }
      let quote = '';
      for (; i < end; i++) {
        const c = text[i];
        if (quote !== '') {
          if (c === quote) quote = '';
          else if (c === '\\' && quote === '"') i++;
          continue;
        }
        if (c === '"' || c === "'") quote = c;
        else if (c === '#' && (i === start || /\s/.test(text[i - 1] as string))) break;
        else if (c === '[' || c === '{') flow++;
        else if ((c === ']' || c === '}') && flow > 0) flow--;
        if (indents.length + compact + flow > MAX_NESTING_DEPTH)
          return { line, message: `nests deeper than ${MAX_NESTING_DEPTH} levels` };
      }
      if (indents.length + compact + flow > MAX_NESTING_DEPTH)
        return { line, message: `nests deeper than ${MAX_NESTING_DEPTH} levels` };
    }
    start = end + 1;
  }
  return undefined;
}
