// Header lists as the codec keeps them: the raw [name, value, ...] array as received, looked up without
// building an object per request, and the hop-by-hop rules of RFC 9110 §7.6.1 for what travels on.

/** Names that describe one connection and never travel past a proxy, plus Expect (answered here). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'expect',
]);

/** Case-insensitive comparison of a header name with a lower-case one, without allocating. */
export function nameIs(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  if (name === lower) return true;
  return name.toLowerCase() === lower;
}

/** Reads a field by lower-case name; repeated fields come joined (", ", or "; " for cookie). */
export interface HeaderLookup {
  value(lower: string): string | undefined;
}

/** A HeaderLookup over a plain object (tests, and callers holding node:http-shaped headers). */
export function lookupOf(headers: Record<string, string | string[] | undefined>): HeaderLookup {
  return {
    value: (lower) => {
      const v = headers[lower];
      return Array.isArray(v) ? v.join(lower === 'cookie' ? '; ' : ', ') : v;
    },
  };
}

/**
 * A request's or response's header fields. `raw` is never copied; `get` scans it (a head has a dozen
 * fields, a Map would cost more to build than it saves), and `toObject` builds node:http's shape on demand.
 */
export class HeaderList implements HeaderLookup {
  readonly raw: string[];
  #object: Record<string, string | string[]> | undefined;

  constructor(raw: string[]) {
    this.raw = raw;
  }

  /** The first value of a header, or undefined. */
  get(lower: string): string | undefined {
    const raw = this.raw;
    for (let i = 0; i < raw.length; i += 2) if (nameIs(raw[i] as string, lower)) return raw[i + 1];
    return undefined;
  }

  value(lower: string): string | undefined {
    const first = this.get(lower);
    if (first === undefined || this.count(lower) === 1) return first;
    return this.all(lower).join(lower === 'cookie' ? '; ' : ', ');
  }

  /** Every value of a header, in order. */
  all(lower: string): string[] {
    const out: string[] = [];
    const raw = this.raw;
    for (let i = 0; i < raw.length; i += 2)
      if (nameIs(raw[i] as string, lower)) out.push(raw[i + 1] as string);
    return out;
  }

  count(lower: string): number {
    let n = 0;
    const raw = this.raw;
    for (let i = 0; i < raw.length; i += 2) if (nameIs(raw[i] as string, lower)) n++;
    return n;
  }

  /** node:http's IncomingHttpHeaders shape (lower-case names; set-cookie and repeats as arrays). */
  toObject(): Record<string, string | string[]> {
    if (this.#object) return this.#object;
    const out: Record<string, string | string[]> = {};
    const raw = this.raw;
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      const value = raw[i + 1] as string;
      const old = out[name];
      if (old === undefined) out[name] = name === 'set-cookie' ? [value] : value;
      else if (Array.isArray(old)) old.push(value);
      else out[name] = name === 'cookie' ? `${old}; ${value}` : `${old}, ${value}`;
    }
    this.#object = out;
    return out;
  }
}

/** Tokens of a Connection header, lower-cased ("close", "upgrade", or names of more hop-by-hop fields). */
export function connectionTokens(value: string | undefined): string[] {
  if (value === undefined || value === '') return [];
  const lower = value.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close' || lower === 'upgrade') return [lower];
  return lower
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/**
 * The end-to-end fields of a head: hop-by-hop ones dropped, and so are those its Connection header names.
 * `drop` names more fields to leave out (lower-case), e.g. the proxy's own peer header.
 */
export function endToEnd(raw: readonly string[], drop?: ReadonlySet<string>): string[] {
  const named = connectionTokens(fieldOf(raw, 'connection'));
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop?.has(lower)) continue;
    if (named.length > 0 && named.includes(lower)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** Sets a field in a raw list: replaces every existing value with one, or appends it. */
export function setField(raw: string[], lower: string, value: string): void {
  let found = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (!nameIs(raw[i] as string, lower)) continue;
    if (found) {
      raw.splice(i, 2);
      i -= 2;
    } else {
      raw[i + 1] = value;
      found = true;
    }
  }
  if (!found) raw.push(lower, value);
}

/** Appends to a comma-separated field (x-forwarded-for, via), or adds it. */
export function appendField(raw: string[], lower: string, value: string): void {
  for (let i = 0; i < raw.length; i += 2) {
    if (nameIs(raw[i] as string, lower)) {
      raw[i + 1] = `${raw[i + 1]}, ${value}`;
      return;
    }
  }
  raw.push(lower, value);
}

/** Removes every value of a field. */
export function removeField(raw: string[], lower: string): void {
  for (let i = raw.length - 2; i >= 0; i -= 2) if (nameIs(raw[i] as string, lower)) raw.splice(i, 2);
}

/** The first value of a field in a raw list. */
export function fieldOf(raw: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (nameIs(raw[i] as string, lower)) return raw[i + 1];
  return undefined;
}

/**
 * Writes the fields as `name: value` lines. Names and values are trusted: those from peers passed llhttp's
 * strict parser, those from config were validated (no CR, LF or NUL) when the snapshot was.
 */
export function headLines(raw: readonly string[]): string {
  let out = '';
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return out;
}
