// Request path normalization before routing: Istio's MeshConfig pathNormalization with Envoy's semantics.
// Encoded slashes are decoded first (DECODE_AND_MERGE_SLASHES), then the path is made canonical (BASE),
// then repeated slashes are merged (MERGE_SLASHES and up). The query string is kept as the client sent it.
import type { PathNormalization } from '../snapshot.ts';

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * The normalized request target (path and query), or undefined when the path is not an absolute path.
 * A fragment, which no client should send, is dropped as Envoy does.
 */
export function normalizeTarget(target: string, mode: PathNormalization): string | undefined {
  if (mode === 'NONE') return target;
  const hash = target.indexOf('#');
  const withoutFragment = hash < 0 ? target : target.slice(0, hash);
  const q = withoutFragment.indexOf('?');
  const path = q < 0 ? withoutFragment : withoutFragment.slice(0, q);
  const query = q < 0 ? '' : withoutFragment.slice(q);
  if (path.charCodeAt(0) !== 0x2f /* / */) return undefined;
  const merge = mode !== 'BASE';
  // The common case: nothing to decode, no dot segment, no repeated slash.
  if (path.indexOf('%') < 0 && path.indexOf('/.') < 0 && !(merge && path.indexOf('//') >= 0))
    return withoutFragment;
  let p = mode === 'DECODE_AND_MERGE_SLASHES' ? decodeSlashes(path) : path;
  p = removeDotSegments(decodeUnreserved(p));
  if (merge) p = p.replace(/\/{2,}/g, '/');
  return p + query;
}

/** %2F and %5C (any case) become `/` and `\`. */
function decodeSlashes(path: string): string {
  return path.replace(/%(2f|5c)/gi, (m) => (m[2] === 'f' || m[2] === 'F' ? '/' : '\\'));
}

/**
 * Decodes percent-encoded unreserved characters (RFC 3986 §2.3) and upper-cases the hex digits of the
 * escapes that stay. A malformed escape is left as it is, as Envoy leaves it.
 */
function decodeUnreserved(path: string): string {
  if (path.indexOf('%') < 0) return path;
  let out = '';
  let i = 0;
  while (i < path.length) {
    const pct = path.indexOf('%', i);
    if (pct < 0) break;
    out += path.slice(i, pct);
    const hex = path.slice(pct + 1, pct + 3);
    if (!HEX.test(hex)) {
      out += '%';
      i = pct + 1;
      continue;
    }
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    out += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
    i = pct + 3;
  }
  return out + path.slice(i);
}

/** RFC 3986 §5.2.4 on an absolute path; `..` above the root stays at the root. */
function removeDotSegments(path: string): string {
  if (path.indexOf('/.') < 0) return path;
  const segments = path.split('/');
  const out: string[] = [];
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const seg = segments[i] as string;
    if (seg === '.' || seg === '..') {
      if (seg === '..') out.pop();
      // A trailing dot segment leaves the path ending in a slash: /a/b/.. is /a/.
      if (i === last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return `/${out.join('/')}`;
}
