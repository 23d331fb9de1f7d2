// Computes a request's consistent-hash key from the cluster's hash policy (header, cookie or source IP).
import type { HashPolicy } from '@strait/api';
import type { HeaderLookup } from '../codec/headers.ts';

export function hashKeyOf(
  policy: HashPolicy | undefined,
  headers: HeaderLookup,
  sourceIp: string,
): string | undefined {
  if (policy === undefined) return undefined;
  if ('header' in policy) return headerValue(headers, policy.header.toLowerCase());
  if ('cookie' in policy) return cookieValue(headerValue(headers, 'cookie'), policy.cookie);
  return sourceIp === '' ? undefined : sourceIp;
}

function headerValue(headers: HeaderLookup, name: string): string | undefined {
  const value = headers.value(name);
  return value === undefined || value === '' ? undefined : value;
}

/** The value of cookie `name` in a Cookie header (`a=1; b=2`), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value === '' ? undefined : value;
  }
  return undefined;
}
