// IP address helpers for the egress checks: strict literal parsing, one canonical spelling per address,
// and the "internal" test (loopback, link-local, unspecified, and IPv4-mapped/compatible forms of those).
import { isIPv6 } from 'node:net';

/** A canonical dotted quad only: four decimal parts 0-255, no leading zeros, no octal/hex/short forms. */
const CANONICAL_IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The four bytes of a canonical dotted quad, or undefined. */
export function parseIPv4(text: string): number[] | undefined {
  if (!CANONICAL_IPV4.test(text)) return undefined;
  return text.split('.').map(Number);
}

/** The sixteen bytes of an IPv6 literal (no brackets, no zone id), or undefined. */
export function parseIPv6(text: string): number[] | undefined {
  if (text.includes('%') || !isIPv6(text)) return undefined;
  let head = text;
  let tailV4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIPv4(last);
    if (v4 === undefined) return undefined;
    tailV4 = v4;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const left = groupsOf(halves[0]);
  const right = groupsOf(halves[1]);
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const groups = [...left, ...new Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...right];
  const bytes: number[] = [];
  for (const g of groups) {
    if (!Number.isInteger(g) || g < 0 || g > 0xffff) return undefined;
    bytes.push(g >> 8, g & 0xff);
  }
  if (tailV4.length === 4) bytes.splice(12, 4, ...tailV4);
  return bytes;
}

/** RFC 5952 spelling of sixteen bytes: lower-case hex, the longest run of zero groups shortened to `::`. */
function formatIPv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  /** 4 or 16 bytes. */
  bytes: number[];
  /** One spelling per address, for comparisons (IPv6 without brackets). */
  canonical: string;
}

/** Parses an IP literal (IPv6 may be in brackets); undefined when `text` is not a strict literal. */
export function parseIp(text: string): ParsedIp | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v4 = parseIPv4(bare);
  if (v4 !== undefined) return { family: 4, bytes: v4, canonical: v4.join('.') };
  const v6 = parseIPv6(bare);
  if (v6 !== undefined) return { family: 6, bytes: v6, canonical: formatIPv6(v6) };
  return undefined;
}

/** The canonical spelling of an IP literal, or undefined when it is not one. */
export function canonicalIp(text: string): string | undefined {
  return parseIp(text)?.canonical;
}

function isInternalV4(b: readonly number[]): boolean {
  const [a = 0, second = 0] = b;
  if (a === 127) return true; // loopback 127/8
  if (a === 169 && second === 254) return true; // link-local 169.254/16
  if (a === 0) return true; // unspecified 0.0.0.0 (and the rest of "this network", 0/8)
  return false;
}

/**
 * Whether an address must not be reached unless the allow-list names it: loopback, link-local,
 * unspecified, or an IPv6 form that carries one of those IPv4 addresses (mapped ::ffff:a.b.c.d or
 * the old compatible ::a.b.c.d). Anything that does not parse counts as internal (fail closed).
 */
export function isInternalAddress(text: string): boolean {
  const ip = parseIp(text);
  if (ip === undefined) return true;
  const b = ip.bytes;
  if (ip.family === 4) return isInternalV4(b);
  const firstTenZero = b.slice(0, 10).every((x) => x === 0);
  if (firstTenZero) {
    const w5 = ((b[10] ?? 0) << 8) | (b[11] ?? 0);
    if (w5 === 0xffff) return isInternalV4(b.slice(12)); // IPv4-mapped
    if (w5 === 0) {
      // :: (unspecified), ::1 (loopback), or IPv4-compatible ::a.b.c.d
      return true;
    }
  }
  if (b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return true; // link-local fe80::/10
  return false;
}
