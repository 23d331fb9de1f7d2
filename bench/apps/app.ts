// The benchmark's stand-in apps: a leaf that answers every request with a fixed 1 KB body (the upstream,
// and service B of the chain), or a caller that fetches the leaf's body and returns it (service A),
// either directly or through its sidecar's outbound listener as an HTTP proxy (absolute-form request).
//   node bench/apps/app.ts --listen 127.0.120.1:8080
//   node bench/apps/app.ts --listen 127.0.120.11:8080 --call http://service-b/ --proxy 127.0.120.11:15001
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    listen: { type: 'string' },
    call: { type: 'string' },
    proxy: { type: 'string' },
    'body-bytes': { type: 'string', default: '1024' },
  },
});

function hostPort(text: string | undefined, what: string): { host: string; port: number } {
  const match = /^([^:]+):(\d+)$/.exec(text ?? '');
  if (!match) {
    process.stderr.write(`app: ${what} must be HOST:PORT, got ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return { host: match[1] as string, port: Number(match[2]) };
}

const listen = hostPort(values.listen, '--listen');
const body = Buffer.alloc(Number(values['body-bytes']), 'x');

function answerLeaf(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}

function makeCaller(target: URL, proxy: { host: string; port: number } | undefined) {
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const host = proxy?.host ?? target.hostname;
  const port = proxy?.port ?? Number(target.port || 80);
  // Through a proxy the request line carries the absolute URL, as HTTP_PROXY clients send it.
  const path = proxy ? target.href : `${target.pathname}${target.search}`;
  return (req: IncomingMessage, res: ServerResponse): void => {
    req.resume();
    const headers: Record<string, string> = { host: target.host };
    const requestId = req.headers['x-request-id'];
    if (typeof requestId === 'string') headers['x-request-id'] = requestId;
    const traceparent = req.headers.traceparent;
    if (typeof traceparent === 'string') headers.traceparent = traceparent;
    const upstream = request({ host, port, path, method: 'GET', headers, agent }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const payload = Buffer.concat(chunks);
        res.writeHead(answer.statusCode ?? 502, {
          'content-type': 'text/plain',
          'content-length': payload.length,
        });
        res.end(payload);
      });
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', (err) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`upstream call failed: ${err.message}\n`);
    });
    upstream.end();
  };
}

const handler = values.call
  ? makeCaller(new URL(values.call), values.proxy ? hostPort(values.proxy, '--proxy') : undefined)
  : answerLeaf;

const server = createServer(handler);
server.listen(listen.port, listen.host, () => {
  process.stdout.write(`app listening on ${listen.host}:${listen.port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
