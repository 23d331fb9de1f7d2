// Cross-process: sidecar outbound -> egress gateway -> external host, with the allow-list enforced at both,
// CONNECT tunnels allowed and denied, and every bypass refused with 403.
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectVia, viaProxy } from './support/forward.ts';
import { type ProxyUnderTest, startProxy } from './support/processes.ts';
import { startUpstream, type TestUpstream } from './support/upstream.ts';

const EGRESS = '127.0.100.20';
const EXTERNAL = '127.0.100.21';
const SIDECAR = '127.0.100.22';
let api: TestUpstream;
let echo: TcpServer;
let echoPort = 0;
let egress: ProxyUnderTest;
let sidecar: ProxyUnderTest;

beforeAll(async () => {
  api = await startUpstream('external-api', EXTERNAL);
  echo = createTcpServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, EXTERNAL, r));
  echoPort = (echo.address() as { port: number }).port;

  const allow = [
    {
      host: 'api.partner.example',
      ports: [80],
      resolution: 'STATIC' as const,
      endpoints: [{ address: EXTERNAL, port: api.port }],
    },
    {
      host: 'secure.partner.example',
      ports: [443],
      resolution: 'STATIC' as const,
      endpoints: [{ address: EXTERNAL, port: echoPort }],
    },
    { host: 'localhost', ports: [80], resolution: 'DNS' as const },
  ];
  egress = await startProxy({
    role: 'egress',
    address: EGRESS,
    snapshot: {
      listeners: [
        {
          name: 'egress',
          kind: 'egress',
          port: 15443,
          virtualHosts: [
            {
              name: 'api',
              domains: ['api.partner.example'],
              routes: [
                {
                  name: 'api',
                  match: {},
                  route: { clusters: [{ cluster: 'outbound|80||api.partner.example', weight: 1 }] },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'outbound|80||api.partner.example',
          service: 'api.partner.example',
          endpoints: [{ address: EXTERNAL, port: api.port }],
        },
      ],
      egress: { mode: 'REGISTRY_ONLY', allow },
    },
  });
  sidecar = await startProxy({
    role: 'sidecar',
    address: SIDECAR,
    args: ['--workload', 'service-b-v1', '--service', 'service-b', '--version', 'v1'],
    snapshot: {
      listeners: [
        {
          name: 'outbound',
          kind: 'outbound',
          port: 15001,
          virtualHosts: ['api.partner.example', 'secure.partner.example', 'blocked.partner.example'].map(
            (host) => ({
              name: host,
              domains: [host],
              routes: [
                { name: host, match: {}, route: { clusters: [{ cluster: 'egress-gateway', weight: 1 }] } },
              ],
            }),
          ),
        },
      ],
      clusters: [
        { name: 'egress-gateway', forwardProxy: true, endpoints: [{ address: EGRESS, port: 15443 }] },
      ],
      egress: {
        mode: 'REGISTRY_ONLY',
        allow: allow.map(({ host, ports }) => ({ host, ports, resolution: 'NONE' as const })),
      },
    },
  });
});

afterAll(async () => {
  await sidecar?.stop();
  await egress?.stop();
  await api?.close();
  echo?.close();
});

async function deniedCount(proxyAddr: string): Promise<number> {
  const text = await (await request(`http://${proxyAddr}:15090/stats/prometheus`)).body.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('strait_egress_denied_total'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('allowed traffic', () => {
  it('HTTP goes app -> sidecar -> egress gateway -> external host', async () => {
    const res = await viaProxy(SIDECAR, 15001, 'http://api.partner.example/status');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).upstream).toBe('external-api');
    const seen = api.seen.at(-1);
    expect(seen?.headers.host).toBe('api.partner.example');
    expect(seen?.url).toBe('/status');
    expect(seen?.headers.via).toContain('strait-sidecar');
    expect(seen?.headers.via).toContain('strait-egress');
  });

  it('CONNECT is tunnelled through the egress gateway to an allowed host:port', async () => {
    const res = await connectVia(SIDECAR, 15001, 'secure.partner.example:443', 'ping-through-tunnel');
    expect(res.status).toBe(200);
    expect(res.echoed).toBe('ping-through-tunnel');
  });
});

describe('denied traffic', () => {
  it('an unlisted host gets 403 naming it, and the denial is counted', async () => {
    const before = await deniedCount(SIDECAR);
    const res = await viaProxy(SIDECAR, 15001, 'http://example.org/');
    expect(res.status).toBe(403);
    expect(res.text).toContain('example.org');
    expect(await deniedCount(SIDECAR)).toBe(before + 1);
  });

  it('a refusal by the egress gateway reaches the app through the sidecar tunnel', async () => {
    // The sidecar routes this host to the egress gateway, whose allow-list does not name it.
    const res = await connectVia(SIDECAR, 15001, 'blocked.partner.example:443', 'x');
    expect(res.status).toBe(403);
    expect(res.body).toContain('blocked.partner.example');
  });

  it('CONNECT to an unlisted host is refused', async () => {
    const res = await connectVia(SIDECAR, 15001, 'evil.example:443', 'x');
    expect(res.status).toBe(403);
    expect(res.body).toContain('evil.example');
  });

  it('a Host header that differs from the absolute-form target is refused', async () => {
    const res = await viaProxy(EGRESS, 15443, 'http://api.partner.example/', 'evil.example');
    expect(res.status).toBe(403);
  });

  it('a CONNECT whose Host differs from its target is refused', async () => {
    const res = await connectVia(EGRESS, 15443, 'secure.partner.example:443', 'x', 'evil.example:443');
    expect(res.status).toBe(403);
  });

  it('an IP literal not on the list is refused', async () => {
    const res = await viaProxy(EGRESS, 15443, `http://${EXTERNAL}:${api.port}/`);
    expect(res.status).toBe(403);
    const tunnel = await connectVia(EGRESS, 15443, `${EXTERNAL}:${echoPort}`, 'x');
    expect(tunnel.status).toBe(403);
  });

  it('an allowed host on a port not on the list is refused', async () => {
    const res = await viaProxy(EGRESS, 15443, 'http://api.partner.example:8081/');
    expect(res.status).toBe(403);
    const tunnel = await connectVia(EGRESS, 15443, 'secure.partner.example:8443', 'x');
    expect(tunnel.status).toBe(403);
  });

  it('a listed name that resolves to loopback is refused', async () => {
    const res = await viaProxy(EGRESS, 15443, 'http://localhost/');
    expect(res.status).toBe(403);
    expect(res.text).toContain('localhost');
  });

  it('the egress gateway counts its denials too', async () => {
    expect(await deniedCount(EGRESS)).toBeGreaterThan(0);
  });
});
