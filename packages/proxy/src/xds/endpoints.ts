// The control-plane replicas a proxy may stream from: every URL of --control-plane, and every address a
// name resolves to (a compose service name with two replicas behind it is two replicas). Taken in turn, so
// a proxy whose replica failed moves to another; names are resolved again at the start of every round. Where
// the first pick falls is the caller's (the discovery client derives it from the node id, so that proxies
// given the same list spread over the replicas).
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** One replica to try: its URL as given, and where to connect (a resolved address) with the Host to send. */
export interface ControlPlaneTarget {
  /** The base URL as configured (with any path prefix), e.g. http://control-plane:15010. */
  url: string;
  /** Where to connect: the URL's origin with the host replaced by one resolved address. */
  origin: string;
  /** The URL's own host:port, sent as Host. */
  host: string;
  /** Path prefix of the URL ('' for none). */
  basePath: string;
}

export type Resolve = (hostname: string) => Promise<string[]>;

const resolveAll: Resolve = async (hostname) => (await lookup(hostname, { all: true })).map((a) => a.address);

/** Parses `--control-plane`: one URL or several, comma-separated. Throws on anything that is not http(s). */
export function parseControlPlaneUrls(text: string): string[] {
  const urls = text
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new Error('expected at least one control-plane URL');
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new Error(`expected a URL such as http://127.0.0.1:15010, got "${u}"`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new Error(`expected an http:// or https:// URL, got "${u}"`);
  }
  return urls.map((u) => u.replace(/\/+$/, ''));
}

export class ControlPlaneEndpoints {
  readonly urls: readonly string[];
  readonly #resolve: Resolve;
  readonly #start: () => number;
  #round: ControlPlaneTarget[] = [];
  #next = 0;
  /** The last target handed out, so that a failover never picks it again first. */
  #last: string | undefined;

  constructor(urls: readonly string[], resolve: Resolve = resolveAll, start: () => number = Math.random) {
    if (urls.length === 0) throw new Error('no control-plane URL');
    this.urls = urls.map((u) => u.replace(/\/+$/, ''));
    this.#resolve = resolve;
    this.#start = start;
  }

  /** The next replica to try. A name that does not resolve is skipped for this round (and tried next round). */
  async next(): Promise<ControlPlaneTarget> {
    if (this.#next >= this.#round.length) {
      this.#round = await this.#resolveRound();
      // The very first pick falls where `start` says (spreading proxies); later rounds start from the top.
      this.#next = this.#last === undefined ? Math.floor(this.#start() * this.#round.length) : 0;
      // A new round starts after the one that just failed, when there is another to try.
      if (this.#round.length > 1 && this.#round[0]?.origin === this.#last) this.#next = 1;
    }
    const target = this.#round[this.#next++] as ControlPlaneTarget;
    this.#last = target.origin;
    return target;
  }

  async #resolveRound(): Promise<ControlPlaneTarget[]> {
    const round: ControlPlaneTarget[] = [];
    for (const base of this.urls) {
      const url = new URL(base);
      const hostname = url.hostname.replace(/^\[|\]$/g, '');
      let addresses: string[];
      if (isIP(hostname) !== 0) addresses = [hostname];
      else {
        try {
          addresses = [...new Set(await this.#resolve(hostname))];
        } catch {
          addresses = [];
        }
      }
      for (const address of addresses) {
        const host = isIP(address) === 6 ? `[${address}]` : address;
        round.push({
          url: base,
          origin: `${url.protocol}//${host}${url.port ? `:${url.port}` : ''}`,
          host: url.host,
          basePath: url.pathname.replace(/\/+$/, ''),
        });
      }
    }
    if (round.length > 0) return round;
    // Nothing resolved: try the URLs as they are, so the failure is reported as a connection failure.
    return this.urls.map((u) => {
      const url = new URL(u);
      return { url: u, origin: url.origin, host: url.host, basePath: url.pathname.replace(/\/+$/, '') };
    });
  }
}

/** `http://control-plane:15010 (172.20.0.5)` for a resolved name, else the URL alone (for logs and status). */
export function describeTarget(target: ControlPlaneTarget): string {
  const url = new URL(target.url);
  return target.origin === url.origin ? target.url : `${target.url} (${new URL(target.origin).hostname})`;
}

/** A stable place in [0, 1) for a proxy id (the first four bytes of its SHA-256): where its first pick falls. */
export function placeOf(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}
