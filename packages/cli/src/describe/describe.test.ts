// describe's reasoning on a snapshot written by hand: route choice and near misses, the panic rule against
// 503 UH, the egress policy's decision for hosts outside the mesh, and describe pod's shares.
import { type LiveHost, type ProxyStatus, parseSnapshot, type Snapshot } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { clusterState } from './clusters.ts';
import { describePod } from './pod.ts';
import { describeRequest, egressDecision } from './request.ts';

const snapshot: Snapshot = parseSnapshot(
  {
    version: 'test-1',
    listeners: [
      {
        name: 'virtualOutbound',
        kind: 'outbound',
        port: 15001,
        virtualHosts: [
          {
            name: 'service-b:80',
            domains: ['service-b'],
            routes: [
              {
                name: 'canary-user',
                match: { path: { prefix: '/' }, headers: [{ name: 'x-user', match: { exact: 'a' } }] },
                route: { clusters: [{ cluster: 'outbound|80|v2|service-b', weight: 1 }] },
              },
              {
                name: 'split',
                match: { path: { prefix: '/api' } },
                route: {
                  clusters: [
                    { cluster: 'outbound|80|v1|service-b', weight: 90 },
                    { cluster: 'outbound|80|v2|service-b', weight: 10 },
                  ],
                  timeoutMs: 3000,
                  retry: { attempts: 2, retryOn: ['connect-failure'] },
                  rateLimit: { maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 1000 },
                },
              },
            ],
          },
        ],
      },
    ],
    clusters: [
      {
        name: 'outbound|80|v1|service-b',
        endpoints: [
          { address: '10.0.0.1', port: 15006, workload: 'service-b-v1' },
          { address: '10.0.0.2', port: 15006, workload: 'service-b-v1' },
        ],
      },
      {
        name: 'outbound|80|v2|service-b',
        panicThresholdPercent: 0,
        endpoints: [{ address: '10.0.0.3', port: 15006, health: 'UNHEALTHY' }],
      },
    ],
    egress: {
      mode: 'REGISTRY_ONLY',
      allow: [
        { host: 'api.partner.example', ports: [443] },
        { host: '*.example.org', ports: [80] },
        { host: '*.deep.example.org', ports: [8080] },
      ],
    },
  },
  'the test snapshot',
);

const ejected = (address: string): LiveHost => ({ address, port: 15006, healthy: false, ejected: true });
const healthy = (address: string): LiveHost => ({ address, port: 15006, healthy: true });

describe('describeRequest', () => {
  it('names the route that matches, each near miss before it, and the split with its policies', () => {
    const d = describeRequest(
      snapshot,
      'sidecar',
      { url: 'http://service-b/api/x', method: 'GET', headers: { 'x-user': 'b' } },
      undefined,
    );
    expect(d.route).toEqual({ name: 'split', index: 1 });
    expect(d.nearMisses).toEqual([
      { route: 'canary-user', reason: 'header x-user is "b", expected exact "a"' },
    ]);
    expect(d.clusters.map((c) => [c.cluster, c.percent])).toEqual([
      ['outbound|80|v1|service-b', 90],
      ['outbound|80|v2|service-b', 10],
    ]);
    expect(d.timeout).toBe('3000 ms for the whole request');
    expect(d.retries).toBe('2 more attempts on connect-failure');
    expect(d.policies.find((p) => p.startsWith('route rate limit'))).toMatch(
      /^route rate limit: 5 requests per 1000 ms, bursts of 10; over it: 429 RL$/,
    );
    expect(d.outcome).toBe(
      '90% outbound|80|v1|service-b: ROUND_ROBIN over the 2 healthy of 2; 10% outbound|80|v2|service-b: no healthy endpoint: 503 UH (no healthy upstream)',
    );
  });

  it('sends a host outside the mesh to the egress policy: allowed, or denied with the reason', () => {
    const denied = describeRequest(
      snapshot,
      'sidecar',
      { url: 'http://example.com/', method: 'GET', headers: {} },
      undefined,
    );
    expect(denied.noVirtualHost).toMatch(
      /no virtual host of virtualOutbound has a domain matching "example.com"/,
    );
    expect(denied.outcome).toMatch(
      /^403 egress denied \(UAEX\): REGISTRY_ONLY: example.com is not on the allow-list/,
    );
    const allowed = describeRequest(
      snapshot,
      'sidecar',
      { url: 'http://www.example.org/', method: 'GET', headers: {} },
      undefined,
    );
    expect(allowed.outcome).toBe('passed through to www.example.org:80 (the egress policy allows it)');
  });

  it('refuses a URL it cannot read, and a listener the proxy lacks', () => {
    expect(() =>
      describeRequest(snapshot, 'sidecar', { url: 'service-b/x', method: 'GET', headers: {} }, undefined),
    ).toThrow(/expected an http:\/\/ URL/);
    expect(() =>
      describeRequest(
        snapshot,
        'ingress',
        { url: 'http://service-b/', method: 'GET', headers: {} },
        undefined,
      ),
    ).toThrow(/no gateway listener/);
  });
});

describe('egressDecision', () => {
  it('takes the exact host first, then the longest wildcard, as the proxy does', () => {
    expect(egressDecision(snapshot.egress, 'api.partner.example', 443).allowed).toBe(true);
    expect(egressDecision(snapshot.egress, 'api.partner.example', 80).text).toBe(
      'REGISTRY_ONLY: api.partner.example is allowed on ports 443, not 80',
    );
    // *.deep.example.org (8080 only) hides *.example.org (80) for its own names.
    expect(egressDecision(snapshot.egress, 'a.deep.example.org', 80).allowed).toBe(false);
    expect(egressDecision(snapshot.egress, 'a.deep.example.org', 8080).allowed).toBe(true);
    expect(egressDecision(snapshot.egress, 'example.org', 80).allowed).toBe(false);
    expect(egressDecision({ mode: 'ALLOW_ANY', allow: [] }, 'example.net', 80).allowed).toBe(true);
  });
});

describe('clusterState', () => {
  const v1 = snapshot.clusters[0] as Snapshot['clusters'][number];

  it('takes health from the proxy when it answered, and balances over the healthy', () => {
    const state = clusterState(v1, [ejected('10.0.0.1'), healthy('10.0.0.2')]);
    expect(state.healthSource).toBe('proxy');
    expect(state.endpoints.map((e) => e.health)).toEqual(['EJECTED', 'HEALTHY']);
    expect(state.now).toBe('ROUND_ROBIN over the 1 healthy of 2');
  });

  it('uses every endpoint under the panic threshold, and answers 503 UH when panic mode is off', () => {
    const none = clusterState(v1, [ejected('10.0.0.1'), ejected('10.0.0.2')]);
    expect(none.now).toMatch(/^0 of 2 healthy, under the panic threshold of 50%: ROUND_ROBIN over all 2/);
    const noPanic = clusterState({ ...v1, panicThresholdPercent: 0 }, [
      ejected('10.0.0.1'),
      healthy('10.0.0.2'),
    ]);
    expect(noPanic.whenNoneHealthy).toBe('503 UH (no healthy upstream)');
    const empty = clusterState({ ...v1, endpoints: [] }, undefined);
    expect(empty.now).toBe('no endpoints: 503 UH (no healthy upstream)');
  });
});

describe('describePod', () => {
  it("gives each caller's share of its route that reaches the pod, by the caller's view of health", () => {
    const status = (id: string, address: string): ProxyStatus =>
      ({ id, role: 'sidecar', workload: id, address, connected: true, status: 'SYNCED' }) as ProxyStatus;
    const pod = status('service-b-v1-2', '10.0.0.2');
    const caller = status('service-a-v1-1', '10.0.1.1');
    const d = describePod(
      pod,
      [caller, pod],
      new Map([['service-a-v1-1', snapshot]]),
      new Map([
        [
          'service-a-v1-1',
          new Map([['outbound|80|v1|service-b', [ejected('10.0.0.1'), healthy('10.0.0.2')]]]),
        ],
      ]),
    );
    expect(d.endpoints).toEqual(['10.0.0.2:15006']);
    expect(d.callers.map((c) => [c.route, c.routeShare, c.endpointShare, c.share])).toEqual([
      ['split', 90, 100, 90],
    ]);
  });
});

describe('the authorization verdict', () => {
  const gateway: Snapshot = parseSnapshot(
    {
      version: 'gw-1',
      listeners: [
        {
          name: '0.0.0.0_8080',
          kind: 'gateway',
          port: 8080,
          virtualHosts: [
            {
              name: '*',
              domains: ['*'],
              routes: [
                {
                  name: 'all',
                  match: { path: { prefix: '/' } },
                  route: { clusters: [{ cluster: 'outbound|80||service-a', weight: 1 }] },
                },
              ],
            },
          ],
          authorization: {
            destinationPort: 8080,
            policies: [
              {
                name: 'no-admin',
                namespace: 'istio-system',
                action: 'DENY',
                scope: 'workload',
                rules: [{ to: [{ paths: ['/admin*'] }] }],
              },
            ],
          },
        },
      ],
      clusters: [{ name: 'outbound|80||service-a', endpoints: [{ address: '10.0.1.1', port: 15006 }] }],
    },
    'test',
  );

  it("runs the listener's policies on the request: a DENY match answers 403 RBAC instead of the route", () => {
    const denied = describeRequest(
      gateway,
      'ingress',
      { url: 'http://shop/admin/x', method: 'GET', headers: {} },
      undefined,
    );
    expect(denied.outcome).toBe('403 RBAC: RBAC: access denied (DENY policy istio-system/no-admin matched)');
    expect(denied.policies.join()).toContain('denied for a plain-text caller');
    const allowed = describeRequest(
      gateway,
      'ingress',
      { url: 'http://shop/', method: 'GET', headers: {} },
      undefined,
    );
    expect(allowed.policies).toContain(
      'authorization (DENY istio-system/no-admin): allowed (no DENY rule matched) for a plain-text caller',
    );
    expect(allowed.outcome).not.toContain('403');
  });

  it("says a sidecar's outbound side has none and the destination checks its own", () => {
    const d = describeRequest(
      snapshot,
      'sidecar',
      { url: 'http://service-b/api', method: 'GET', headers: {} },
      undefined,
    );
    expect(d.policies.join()).toContain("authorization: none here; the destination's sidecar checks its own");
  });
});
