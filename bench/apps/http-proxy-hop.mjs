// The same floor as bare-proxy.mjs but with http-proxy (node-http-proxy) doing the forwarding, for the
// dependency comparison in docs/architecture.md. http-proxy is not a dependency of Strait: install it
// somewhere of your own and point HTTP_PROXY_MODULE at it (bench/http-proxy-compare.ts says how).
//   node bench/apps/http-proxy-hop.mjs --listen 127.0.127.3:8080 --upstream http://127.0.127.1:8080
import { Agent, createServer } from 'node:http';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { listen: { type: 'string' }, upstream: { type: 'string' } } });
const listen = /^([^:]+):(\d+)$/.exec(values.listen ?? '');
const modulePath = process.env.HTTP_PROXY_MODULE;
if (!listen || !values.upstream || !modulePath) {
  process.stderr.write(
    'usage: HTTP_PROXY_MODULE=DIR node http-proxy-hop.mjs --listen HOST:PORT --upstream URL\n',
  );
  process.exit(2);
}
const httpProxy = createRequire(import.meta.url)(modulePath);
// Keep-alive upstream connections, as the undici floor has.
const agent = new Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ target: values.upstream, agent });
proxy.on('error', (_error, _req, res) => {
  res.writeHead?.(502);
  res.end();
});
const server = createServer((req, res) => proxy.web(req, res));
server.listen(Number(listen[2]), listen[1]);
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
  process.exit(0);
});
