// The egress allow-list (ServiceEntry hosts): decides whether a target may be reached and, if so, which
// address to connect to. Resolution happens here once, so there is no second lookup for DNS to change.
import { type EgressPolicy, type EgressRule, Errors, StraitError } from '@strait/api';
import { echo, formatAuthority, normalizeHost } from './host.ts';
import { canonicalIp, isInternalAddress, parseIp } from './ip.ts';
import { type LookupFn, Resolver } from './resolver.ts';
import type { ForwardTargetError } from './target.ts';

export type EgressDenyCode =
  | 'host-not-allowed'
  | 'port-not-allowed'
  | 'ip-literal-not-allowed'
  | 'resolves-to-internal'
  | 'dns-failure'
  | 'host-mismatch'
  | 'bad-target';

export type EgressAllowed = {
  allowed: true;
  host: string;
  /** The port that was asked for. */
  port: number;
  /** Where to connect: an IP address (already checked). */
  address: string;
  /** The port to connect to: a STATIC endpoint's own port when it has one, else `port`. */
  connectPort: number;
  /** The allow-list entry that let it through; undefined for ALLOW_ANY passthrough. */
  rule: EgressRule | undefined;
};

export type EgressDenied = {
  allowed: false;
  host: string;
  port: number;
  reason: string;
  code: EgressDenyCode;
};

export type EgressDecision = EgressAllowed | EgressDenied;

export type { LookupFn };

export interface EgressPolicyOptions {
  /** Resolves a name to all its addresses; default dns.lookup with `all: true`. */
  lookup?: LookupFn;
  /** Give up on a lookup after this long (dns-failure). Default 5000 ms. */
  lookupTimeoutMs?: number;
  /** Reuse a name's addresses for this long (0 = always look up). Default 5000 ms. */
  dnsCacheTtlMs?: number;
}

/** One allow-list entry after compiling: the rule, its ports and the IPs it names. */
interface CompiledRule {
  rule: EgressRule;
  ports: ReadonlySet<number>;
  /** STATIC endpoints, in order (address may be a name, resolved at check time). */
  endpoints: { address: string; port: number | undefined }[];
  /** Canonical IPs among the endpoints: reachable even when internal. */
  namedIps: ReadonlySet<string>;
  /** Round-robin position over the endpoints. */
  next: number;
}

interface SuffixEntry {
  /** `.domain`, lower-case. */
  suffix: string;
  rules: CompiledRule[];
}

export class EgressPolicyChecker {
  readonly mode: EgressPolicy['mode'];
  /** Entries that could not be compiled (bad host); they match nothing. */
  readonly warnings: string[] = [];
  /** Exact hosts (names and canonical IPs) to their rules. */
  readonly #exact = new Map<string, CompiledRule[]>();
  /** `*.domain` entries, longest suffix first. */
  readonly #suffixes: SuffixEntry[] = [];
  /** IPs that rules name as their host: reachable through any allowed name even when internal. */
  readonly #hostIps = new Set<string>();
  readonly #resolver: Resolver;

  constructor(policy: EgressPolicy | undefined, opts: EgressPolicyOptions = {}) {
    this.mode = policy?.mode ?? 'REGISTRY_ONLY';
    this.#resolver = new Resolver({
      ...(opts.lookup !== undefined && { lookup: opts.lookup }),
      ...(opts.lookupTimeoutMs !== undefined && { timeoutMs: opts.lookupTimeoutMs }),
      ...(opts.dnsCacheTtlMs !== undefined && { cacheTtlMs: opts.dnsCacheTtlMs }),
    });
    const bySuffix = new Map<string, CompiledRule[]>();
    for (const rule of policy?.allow ?? []) {
      const compiled = compileRule(rule);
      const raw = rule.host.trim();
      if (raw.startsWith('*.')) {
        const host = normalizeHost(raw.slice(2));
        if (!host.ok || host.kind !== 'name') {
          this.warnings.push(
            `egress rule ${echo(raw)} ignored: ${host.ok ? 'wildcard over an IP' : host.reason}`,
          );
          continue;
        }
        const suffix = `.${host.host}`;
        const list = bySuffix.get(suffix) ?? [];
        list.push(compiled);
        bySuffix.set(suffix, list);
        continue;
      }
      const host = normalizeHost(raw);
      if (!host.ok) {
        this.warnings.push(`egress rule ${echo(raw)} ignored: ${host.reason}`);
        continue;
      }
      if (host.kind !== 'name') this.#hostIps.add(namingKey(host.host) ?? host.host);
      const list = this.#exact.get(host.host) ?? [];
      list.push(compiled);
      this.#exact.set(host.host, list);
    }
    for (const [suffix, rules] of bySuffix) this.#suffixes.push({ suffix, rules });
    this.#suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
  }

  /** Decides one target. Never rejects: failures come back as denials. */
  async check(target: { host: string; port: number }): Promise<EgressDecision> {
    const port = target.port;
    const host = normalizeHost(typeof target.host === 'string' ? target.host : '');
    if (!host.ok) return deny(echo(target.host), port, 'bad-target', host.reason);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return deny(host.host, port, 'bad-target', 'port out of range');
    }
    const name = host.host;
    const candidates = this.#candidates(name);
    const matched = candidates.find((c) => c.ports.has(port));

    if (this.mode === 'ALLOW_ANY') {
      if (matched !== undefined) return this.#resolveForRule(name, port, matched, false);
      if (host.kind !== 'name') return allow(name, port, name, port, undefined);
      return this.#resolveName(name, port, undefined, false);
    }

    if (candidates.length === 0) {
      if (host.kind !== 'name') {
        return deny(name, port, 'ip-literal-not-allowed', 'IP address is not in the egress allow-list');
      }
      return deny(name, port, 'host-not-allowed', 'host is not in the egress allow-list');
    }
    if (matched === undefined) {
      return deny(name, port, 'port-not-allowed', `port ${port} is not allowed for this host`);
    }
    return this.#resolveForRule(name, port, matched, true);
  }

  /** The rules whose host matches: exact entries, or else the longest matching `*.domain`. */
  #candidates(name: string): CompiledRule[] {
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    for (const entry of this.#suffixes) {
      if (name.length > entry.suffix.length && name.endsWith(entry.suffix)) return entry.rules;
    }
    return [];
  }

  async #resolveForRule(
    name: string,
    port: number,
    c: CompiledRule,
    guard: boolean,
  ): Promise<EgressDecision> {
    if (canonicalIp(name) !== undefined) return allow(name, port, name, port, c.rule);
    if (c.rule.resolution === 'STATIC' && c.endpoints.length > 0) {
      const endpoint = c.endpoints[c.next++ % c.endpoints.length];
      if (endpoint === undefined) return deny(name, port, 'dns-failure', 'no endpoint');
      const connectPort = endpoint.port ?? port;
      const ip = canonicalIp(endpoint.address);
      if (ip !== undefined) return allow(name, port, endpoint.address, connectPort, c.rule);
      const resolved = await this.#resolveName(endpoint.address, port, c, guard);
      if (!resolved.allowed) return { ...resolved, host: name };
      return { ...resolved, host: name, connectPort };
    }
    return this.#resolveName(name, port, c, guard);
  }

  /** Resolves a name; with `guard`, denies when any address is internal and not named by the list. */
  async #resolveName(
    name: string,
    port: number,
    c: CompiledRule | undefined,
    guard: boolean,
  ): Promise<EgressDecision> {
    let addresses: { address: string; family: 4 | 6 }[];
    try {
      addresses = await this.#resolver.resolve(name);
    } catch (err) {
      const code = (err as { code?: unknown } | null | undefined)?.code;
      const why = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
      return deny(name, port, 'dns-failure', `could not resolve the host (${echo(why)})`);
    }
    if (!Array.isArray(addresses) || addresses.length === 0) {
      return deny(name, port, 'dns-failure', 'the host has no addresses');
    }
    if (guard) {
      for (const { address } of addresses) {
        const ip = namingKey(address);
        const named = ip !== undefined && (this.#hostIps.has(ip) || (c?.namedIps.has(ip) ?? false));
        if (!named && isInternalAddress(address)) {
          return deny(
            name,
            port,
            'resolves-to-internal',
            `the host resolves to an internal address (${echo(address)})`,
          );
        }
      }
    }
    const first = addresses[0];
    if (first === undefined) return deny(name, port, 'dns-failure', 'the host has no addresses');
    return allow(name, port, first.address, port, c?.rule);
  }
}

/**
 * How an address is compared with the addresses the list names: canonical, and an IPv4-mapped IPv6
 * address as its IPv4 form, so a resolver answering ::ffff:a.b.c.d does not miss a named a.b.c.d.
 */
function namingKey(address: string): string | undefined {
  const ip = parseIp(address);
  if (ip === undefined) return undefined;
  const b = ip.bytes;
  if (ip.family === 6 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return b.slice(12).join('.');
  }
  return ip.canonical;
}

function compileRule(rule: EgressRule): CompiledRule {
  const endpoints = (rule.endpoints ?? []).map((e) => ({ address: e.address, port: e.port }));
  const namedIps = new Set<string>();
  for (const e of endpoints) {
    const ip = namingKey(e.address);
    if (ip !== undefined) namedIps.add(ip);
  }
  return { rule, ports: new Set(rule.ports), endpoints, namedIps, next: 0 };
}

function allow(
  host: string,
  port: number,
  address: string,
  connectPort: number,
  rule: EgressRule | undefined,
): EgressAllowed {
  return { allowed: true, host, port, address, connectPort, rule };
}

function deny(host: string, port: number, code: EgressDenyCode, reason: string): EgressDenied {
  return { allowed: false, host, port, code, reason };
}

/** A denial for a request whose target could not be parsed (see parseForwardTarget). */
export function denyTarget(error: ForwardTargetError): EgressDenied {
  return deny(error.host, error.port ?? 0, error.code, error.reason);
}

/** The deny code as a metric label value (`host-not-allowed` -> `host_not_allowed`). */
export function denyReasonLabel(code: EgressDenyCode): string {
  return code.replaceAll('-', '_');
}

/** Content type of `denyBody`. */
export const DENY_CONTENT_TYPE = 'text/plain; charset=utf-8';

/**
 * The 403 body for a denial, plain text, one line:
 * `egress denied: evil.example:443 (host-not-allowed): host is not in the egress allow-list`.
 */
export function denyBody(decision: EgressDecision): string {
  if (decision.allowed) return '';
  const where =
    decision.port > 0 ? formatAuthority(decision.host, decision.port) : decision.host || '(no host)';
  return `${Errors.EGRESS_DENIED.message}: ${where} (${decision.code}): ${decision.reason}\n`;
}

/** The denial as a catalogue error (STRAIT_EGRESS_DENIED, 403), e.g. for a log line. */
export function denyError(decision: EgressDenied): StraitError {
  const where = decision.port > 0 ? formatAuthority(decision.host, decision.port) : decision.host;
  return new StraitError(Errors.EGRESS_DENIED, `${where} (${decision.code}): ${decision.reason}`);
}
