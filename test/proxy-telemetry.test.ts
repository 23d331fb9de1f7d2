// Cross-process: ingress -> sidecar inbound -> app, for HTTP and WebSocket through every role; Istio metrics
// with source and destination reporters; promtool accepts the exposition; the access log has Envoy's fields.
import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { type ProxyUnderTest, startProxy } from './support/processes.ts';
import { promtoolNotes, skipWithoutPromtool } from './support/promtool.ts';
import { snapshot } from './support/snapshots.ts';

const INGRESS = '127.0.100.40';
const POD = '127.0.100.41';
const EGRESS = '127.0.100.42';
let app: Server;
let wss: WebSocketServer;
let appPort = 0;
let ingress: ProxyUnderTest;
let sidecar: ProxyUnderTest;
let egress: ProxyUnderTest;

beforeAll(async () => {
  app = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ peer: req.headers['x-strait-peer'] ?? null, via: req.headers.via }));
  });
  wss = new WebSocketServer({ server: app });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${m.toString()}`)));
  await new Promise<void>((r) => app.listen(0, POD, r));
  appPort = (app.address() as { port: number }).port;

  const svc = {
    name: 'outbound|80||service-a',
    service: 'service-a',
    endpoints: [
      { address: POD, port: 15006, workload: 'service-a-v1', labels: { app: 'service-a', version: 'v1' } },
    ],
  };
  const catchAll = (cluster: string) => [
    { name: 'default', match: { path: { prefix: '/' } }, route: { clusters: [{ cluster, weight: 1 }] } },
  ];
  ingress = await startProxy({
    role: 'ingress',
    address: INGRESS,
    snapshot: snapshot(
      [
        {
          name: 'gw',
          kind: 'gateway',
          port: 8080,
          virtualHosts: [{ name: 'a', domains: ['*'], routes: catchAll(svc.name) }],
        },
      ],
      [svc],
    ),
  });
  sidecar = await startProxy({
    role: 'sidecar',
    address: POD,
    args: [
      '--workload',
      'service-a-v1',
      '--service',
      'service-a',
      '--version',
      'v1',
      '--app-port',
      String(appPort),
    ],
    snapshot: snapshot(
      [
        {
          name: 'inbound',
          kind: 'inbound',
          port: 15006,
          virtualHosts: [{ name: 'in', domains: ['*'], routes: catchAll('inbound|8080||') }],
        },
        {
          name: 'outbound',
          kind: 'outbound',
          port: 15001,
          virtualHosts: [{ name: 'service-a', domains: ['service-a'], routes: catchAll(svc.name) }],
        },
      ],
      [{ name: 'inbound|8080||', endpoints: [{ address: POD, port: appPort }] }, svc],
      // Who may call this sidecar: its source_* labels come from here, never from the peer header alone.
      { peers: [{ workload: 'istio-ingressgateway', namespace: 'default' }] },
    ),
  });
  egress = await startProxy({
    role: 'egress',
    address: EGRESS,
    snapshot: {
      listeners: [
        {
          name: 'egress',
          kind: 'egress',
          port: 15443,
          virtualHosts: [{ name: 'x', domains: ['ws.partner.example'], routes: catchAll('ext') }],
        },
      ],
      clusters: [
        { name: 'ext', service: 'ws.partner.example', endpoints: [{ address: POD, port: appPort }] },
      ],
      egress: {
        mode: 'REGISTRY_ONLY',
        allow: [
          {
            host: 'ws.partner.example',
            ports: [80],
            resolution: 'STATIC',
            endpoints: [{ address: POD, port: appPort }],
          },
        ],
      },
    },
  });
});

afterAll(async () => {
  await Promise.all([ingress?.stop(), sidecar?.stop(), egress?.stop()]);
  wss?.close();
  app?.close();
});

async function metrics(addr: string): Promise<string> {
  return (await request(`http://${addr}:15090/stats/prometheus`)).body.text();
}

function wsRoundTrip(url: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { host } });
    ws.on('open', () => ws.send('hello'));
    ws.on('message', (m) => {
      resolve(m.toString());
      ws.close();
    });
    ws.on('error', reject);
  });
}

describe('HTTP through ingress and sidecar', () => {
  it('the app sees the hops in Via, and the peer header is removed before the app', async () => {
    const res = await request(`http://${INGRESS}:8080/`, { headers: { host: 'shop.example' } });
    const body = (await res.body.json()) as { peer: string | null; via: string };
    expect(res.statusCode).toBe(200);
    expect(body.peer).toBeNull();
    expect(body.via).toContain('strait-ingress');
    expect(body.via).toContain('strait-sidecar');
  });

  it('reports Istio metrics from both sides with the source workload carried over', async () => {
    for (let i = 0; i < 5; i++) await (await request(`http://${INGRESS}:8080/`)).body.text();
    const src = await metrics(INGRESS);
    expect(src).toMatch(
      /istio_requests_total\{reporter="source",source_workload="istio-ingressgateway"[^}]*destination_workload="service-a-v1"[^}]*destination_service_name="service-a"[^}]*response_code="200"[^}]*\} \d+/,
    );
    const dst = await metrics(POD);
    expect(dst).toMatch(
      /istio_requests_total\{reporter="destination",source_workload="istio-ingressgateway"[^}]*destination_workload="service-a-v1"[^}]*destination_version="v1"[^}]*\} \d+/,
    );
    expect(dst).toContain('istio_request_duration_milliseconds_bucket{');
    expect(dst).toMatch(/le="0.5"/);
    expect(dst).toMatch(/le="3600000"/);
    expect(dst).toContain('istio_build{component="proxy"');
  });

  it.skipIf(skipWithoutPromtool)(
    'promtool check metrics accepts the exposition (apt-get install prometheus)',
    async () => {
      expect(promtoolNotes(await metrics(POD))).toEqual([]);
    },
  );
});

describe('WebSocket upgrades pass through every role', () => {
  it('ingress -> sidecar inbound -> app', async () => {
    expect(await wsRoundTrip(`ws://${INGRESS}:8080/chat`, 'shop.example')).toBe('echo:hello');
  });

  it('app -> sidecar outbound (Host-addressed) -> sidecar inbound -> app', async () => {
    expect(await wsRoundTrip(`ws://${POD}:15001/chat`, 'service-a')).toBe('echo:hello');
  });

  it('egress gateway to an allowed host', async () => {
    expect(await wsRoundTrip(`ws://${EGRESS}:15443/chat`, 'ws.partner.example')).toBe('echo:hello');
  });

  it('upgraded connections count in the TCP metrics', async () => {
    const text = await metrics(INGRESS);
    expect(text).toMatch(/istio_tcp_connections_opened_total\{[^}]*\} [1-9]/);
    expect(text).toMatch(/istio_tcp_sent_bytes_total\{[^}]*\} [1-9]/);
  });
});
