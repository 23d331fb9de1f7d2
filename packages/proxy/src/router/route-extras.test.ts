// Tests for what a compiled route carries besides its match: weighted picks, rewrites, header ops, and
// rate limiters that survive a config push when their bucket is unchanged.
import type { Route } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { RouteTable } from './route-table.ts';
import { req, vhost } from './testing.ts';

describe('compiled route extras', () => {
  it('exposes pass-through config and a direct response route', () => {
    const t = new RouteTable([
      vhost(
        'h',
        ['*'],
        [
          {
            name: 'full',
            match: { path: { exact: '/full' } },
            route: {
              clusters: [{ cluster: 'outbound|80||service-b', weight: 1 }],
              timeoutMs: 1500,
              retry: { attempts: 2, retryOn: ['5xx'] },
              fault: { abort: { httpStatus: 503, percentage: 10 } },
              mirror: { cluster: 'shadow', percentage: 5 },
              rewrite: { authority: 'backend' },
              requestHeaders: { set: { 'X-A': '1' } },
            },
          },
          { name: 'teapot', match: {}, directResponse: { status: 418, body: 'short and stout' } },
        ],
      ),
    ]);
    const full = t.match(req('h', '/full'))?.route;
    expect(full?.name).toBe('full');
    expect(full?.qualifiedName).toBe('h/full');
    expect(full?.timeoutMs).toBe(1500);
    expect(full?.retry?.attempts).toBe(2);
    expect(full?.fault?.abort?.httpStatus).toBe(503);
    expect(full?.mirror?.cluster).toBe('shadow');
    expect(full?.rewriteAuthority).toBe('backend');
    expect(full?.requestHeaderOps?.setNames).toEqual(['x-a']);
    expect(full?.responseHeaderOps).toBeUndefined();
    expect(full?.rateLimiter).toBeUndefined();
    expect(full?.pickCluster()).toBe('outbound|80||service-b');

    const teapot = t.match(req('h', '/other'))?.route;
    expect(teapot?.directResponse?.status).toBe(418);
    expect(teapot?.pickCluster()).toBe('');
    expect(teapot?.rewritePath('/other?x')).toBe('/other?x');
  });
});

describe('rate limiters per route', () => {
  const limited = (tokens: number, name = 'limited'): Route =>
    ({
      name,
      match: {},
      route: {
        clusters: [{ cluster: 'c', weight: 1 }],
        rateLimit: { maxTokens: tokens, tokensPerFill: tokens, fillIntervalMs: 1000 },
      },
    }) as Route;

  it('builds one limiter per limited route', () => {
    const clock = 0;
    const t = new RouteTable([vhost('h', ['*'], [limited(2)])], { now: () => clock });
    const limiter = t.match(req('h'))?.route.rateLimiter;
    expect(limiter).toBeDefined();
    expect(limiter?.tryTake()).toBe(true);
    expect(limiter?.tryTake()).toBe(true);
    expect(limiter?.tryTake()).toBe(false);
    expect(t.limiterFor('h/limited')).toBe(limiter);
  });

  it('carries a limiter over to the next table when its settings are unchanged', () => {
    const now = () => 0;
    const first = new RouteTable([vhost('h', ['*'], [limited(1)])], { now });
    const firstLimiter = first.limiterFor('h/limited');
    expect(firstLimiter?.tryTake()).toBe(true);

    const same = new RouteTable([vhost('h', ['*'], [limited(1)])], { now, previous: first });
    expect(same.limiterFor('h/limited')).toBe(firstLimiter);
    expect(same.match(req('h'))?.route.rateLimiter?.tryTake()).toBe(false);

    const changed = new RouteTable([vhost('h', ['*'], [limited(5)])], { now, previous: same });
    expect(changed.limiterFor('h/limited')).not.toBe(firstLimiter);
    expect(changed.limiterFor('h/limited')?.available()).toBe(5);
  });

  it('keeps limiters of different tables apart', () => {
    const now = () => 0;
    const a = new RouteTable([vhost('h', ['*'], [limited(1)])], { now });
    const b = new RouteTable([vhost('h', ['*'], [limited(1)])], { now });
    expect(a.limiterFor('h/limited')?.tryTake()).toBe(true);
    expect(b.limiterFor('h/limited')?.tryTake()).toBe(true);
  });
});
