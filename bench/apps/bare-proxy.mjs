// The floor for a Node proxy hop: node:http server + one undici Pool, no routing, metrics or logs.
// A benchmark row that tells Node's own per-request cost apart from Strait's; plain JavaScript, so no
// type stripping is loaded (as with Strait's built bundle).
//   node bench/apps/bare-proxy.mjs --listen 127.0.120.5:8080 --upstream http://127.0.120.1:8080
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { listen: { type: 'string' }, upstream: { type: 'string' } } });
const listen = /^([^:]+):(\d+)$/.exec(values.listen ?? '');
if (!listen || !values.upstream) {
  process.stderr.write('usage: bare-proxy.mjs --listen HOST:PORT --upstream http://HOST:PORT\n');
  process.exit(2);
}
const pool = new Pool(values.upstream, { connections: 128, keepAliveTimeout: 4000 });

const server = createServer((req, res) => {
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== 'connection' && name !== 'keep-alive') headers[name] = value;
  }
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? null : req;
  pool.request({ path: req.url ?? '/', method, headers, body }).then(
    (answer) => {
      const out = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && name !== 'connection' && name !== 'keep-alive') out[name] = value;
      }
      res.writeHead(answer.statusCode, out);
      answer.body.pipe(res);
    },
    () => {
      res.writeHead(502);
      res.end();
    },
  );
});
server.listen(Number(listen[2]), listen[1]);
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.close().finally(() => process.exit(0));
});
