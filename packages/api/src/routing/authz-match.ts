// The matchers of Istio's authorization rules, compiled once per snapshot: a value list (exact, `prefix*`,
// `*suffix`, `*` for presence) and an address list (IPs and CIDR blocks, in node's own net.BlockList).
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Tests one request attribute; '' means the attribute is absent. */
export type ValueMatcher = (value: string) => boolean;

/** One value of Istio's matching: `*` any non-empty value, `abc*` a prefix, `*abc` a suffix, else exact. */
function valueMatcher(pattern: string, fold: boolean): ValueMatcher {
  const p = fold ? pattern.toLowerCase() : pattern;
  const norm = fold ? (v: string) => v.toLowerCase() : (v: string) => v;
  if (p === '*') return (v) => v !== '';
  if (p.endsWith('*')) {
    const prefix = p.slice(0, -1);
    return (v) => norm(v).startsWith(prefix);
  }
  if (p.startsWith('*')) {
    const suffix = p.slice(1);
    return (v) => v !== '' && norm(v).endsWith(suffix);
  }
  return (v) => norm(v) === p;
}

/** True when any of `patterns` matches (case-insensitive with `fold`, as Istio matches hosts). */
export function anyOf(patterns: readonly string[], fold = false): ValueMatcher {
  const matchers = patterns.map((p) => valueMatcher(p, fold));
  if (matchers.length === 1) return matchers[0] as ValueMatcher;
  return (v) => matchers.some((m) => m(v));
}

/** Ports compare as exact numbers; a list of them becomes a set. */
export function portsOf(ports: readonly string[]): ValueMatcher {
  const set = new Set(ports);
  return (v) => set.has(v);
}

/** `10.0.0.0/16`, `10.1.2.3`, `::1/128` in one BlockList; a v4 block also covers the v4-mapped v6 form. */
export function addressesOf(blocks: readonly string[]): ValueMatcher {
  const list = new BlockList();
  for (const block of blocks) {
    const slash = block.indexOf('/');
    const address = slash === -1 ? block : block.slice(0, slash);
    const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (type === undefined) throw new Error(`"${block}" is not an IP address or CIDR block`);
    if (slash === -1) list.addAddress(address, type);
    else list.addSubnet(address, Number(block.slice(slash + 1)), type);
  }
  return (v) => {
    if (isIPv4(v)) return list.check(v, 'ipv4');
    return isIPv6(v) && list.check(v, 'ipv6');
  };
}

/** The namespace in a principal `cluster.local/ns/<namespace>/sa/<account>`; '' when it has none. */
export function namespaceOfPrincipal(principal: string): string {
  const start = principal.indexOf('/ns/');
  if (start === -1) return '';
  const from = start + 4;
  const end = principal.indexOf('/', from);
  return end === -1 ? principal.slice(from) : principal.slice(from, end);
}

/** A field and its `not*` twin: the value must match one of `values` (when set) and none of `notValues`. */
export function inAndNotIn(
  values: readonly string[] | undefined,
  notValues: readonly string[] | undefined,
  build: (list: readonly string[]) => ValueMatcher,
): ValueMatcher | undefined {
  const yes = values ? build(values) : undefined;
  const no = notValues ? build(notValues) : undefined;
  if (yes && no) return (v) => yes(v) && !no(v);
  if (yes) return yes;
  if (no) return (v) => !no(v);
  return undefined;
}
