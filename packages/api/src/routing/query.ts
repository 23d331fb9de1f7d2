// Finding one query parameter in a request target without parsing the whole query string.

/** Percent-decodes a query component (`+` is a space); a malformed escape leaves the text as it was. */
export function decodeQueryComponent(s: string): string {
  const plus = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

function needsDecoding(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */ || c === 0x2b /* + */) return true;
  }
  return false;
}

/**
 * The decoded value of the first parameter called `name` in `target` (an origin-form path whose query
 * starts after index `queryStart`, the position of `?`), or undefined if it is absent. A parameter
 * without `=` (`?debug`) has the value "". Plain names are compared in place, allocating nothing.
 */
export function findQueryParam(target: string, queryStart: number, name: string): string | undefined {
  if (queryStart < 0) return undefined;
  const end = target.length;
  let pos = queryStart + 1;
  while (pos <= end) {
    let amp = target.indexOf('&', pos);
    if (amp < 0) amp = end;
    let eq = target.indexOf('=', pos);
    if (eq < 0 || eq > amp) eq = amp;
    // Key occupies [pos, eq); value (if any) [eq + 1, amp).
    let keyMatches: boolean;
    if (eq - pos === name.length && target.startsWith(name, pos)) {
      keyMatches = true;
    } else if (needsDecoding(target, pos, eq)) {
      keyMatches = decodeQueryComponent(target.slice(pos, eq)) === name;
    } else {
      keyMatches = false;
    }
    if (keyMatches) {
      if (eq >= amp) return '';
      const raw = target.slice(eq + 1, amp);
      return needsDecoding(raw, 0, raw.length) ? decodeQueryComponent(raw) : raw;
    }
    pos = amp + 1;
  }
  return undefined;
}
