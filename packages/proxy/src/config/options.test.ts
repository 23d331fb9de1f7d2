// Tests flag and environment parsing of strait-proxy, in particular --workers / STRAIT_WORKERS, --outbound-address
// and --warmup-requests.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WARMUP_REQUESTS,
  MAX_WORKERS,
  type ProxyOptions,
  parseOptions,
  UsageError,
} from './options.ts';

const base = ['--role', 'ingress', '--bootstrap', 'snapshot.json'];

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): ProxyOptions {
  const options = parseOptions([...base, ...argv], env);
  if (options === 'help') throw new Error('unexpected help');
  return options;
}

describe('--workers', () => {
  it('defaults to 1, the single-process proxy', () => {
    expect(parse([]).workers).toBe(1);
  });

  it('takes the flag, else STRAIT_WORKERS; the flag wins', () => {
    expect(parse(['--workers', '4']).workers).toBe(4);
    expect(parse([], { STRAIT_WORKERS: '2' }).workers).toBe(2);
    expect(parse(['--workers', '3'], { STRAIT_WORKERS: '2' }).workers).toBe(3);
    expect(parse(['--workers', String(MAX_WORKERS)]).workers).toBe(MAX_WORKERS);
  });

  it.each(['0', '-1', '1.5', 'two', '', ' ', '1e9', String(MAX_WORKERS + 1)])('refuses "%s"', (raw) => {
    expect(() => parse([`--workers=${raw}`])).toThrow(UsageError);
    expect(() => parse([`--workers=${raw}`])).toThrow(
      `--workers: expected a whole number from 1 to ${MAX_WORKERS}, got "${raw}"`,
    );
    expect(() => parse([], { STRAIT_WORKERS: raw })).toThrow(UsageError);
  });

  it('is allowed for every role', () => {
    const sidecar = parseOptions(
      ['--role', 'sidecar', '--workload', 'w', '--bootstrap', 'f', '--workers', '2'],
      {},
    );
    expect(sidecar).toMatchObject({ role: 'sidecar', workers: 2 });
  });
});

describe('--outbound-address', () => {
  it('defaults to --address, and takes the flag or STRAIT_OUTBOUND_ADDRESS', () => {
    expect(parse(['--address', '10.0.0.5']).outboundAddress).toBe('10.0.0.5');
    expect(parse(['--address', '10.0.0.5', '--outbound-address', '127.0.0.1'])).toMatchObject({
      address: '10.0.0.5',
      outboundAddress: '127.0.0.1',
    });
    expect(parse([], { STRAIT_OUTBOUND_ADDRESS: '127.0.0.1' }).outboundAddress).toBe('127.0.0.1');
  });

  it('refuses what is not an IP address', () => {
    expect(() => parse(['--outbound-address', 'localhost'])).toThrow(
      '--outbound-address: expected an IP address, got "localhost"',
    );
  });
});

describe('--warmup-requests', () => {
  it('defaults to the warm-up the proxy ships with, and takes the flag or STRAIT_WARMUP_REQUESTS', () => {
    expect(parse([]).warmupRequests).toBe(DEFAULT_WARMUP_REQUESTS);
    expect(parse(['--warmup-requests', '0']).warmupRequests).toBe(0);
    expect(parse([], { STRAIT_WARMUP_REQUESTS: '250' }).warmupRequests).toBe(250);
  });

  it.each(['-1', '1.5', 'many', ''])('refuses "%s"', (raw) => {
    expect(() => parse([`--warmup-requests=${raw}`])).toThrow(
      `--warmup-requests: expected a whole number (0 or more), got "${raw}"`,
    );
  });
});

describe('--cert-dir', () => {
  it('is taken from the flag or STRAIT_CERT_DIR, and cannot be combined with a join token', () => {
    expect(parse([]).certDir).toBeUndefined();
    expect(parse(['--cert-dir', '/etc/certs']).certDir).toBe('/etc/certs');
    expect(parse([], { STRAIT_CERT_DIR: '/etc/certs' }).certDir).toBe('/etc/certs');
    expect(() => parse(['--cert-dir', '/etc/certs', '--join-token', 't'])).toThrow(UsageError);
    expect(() => parse(['--cert-dir', '/etc/certs'], { STRAIT_JOIN_TOKEN_FILE: '/f' })).toThrow(
      /two sources of certificates/,
    );
  });
});
