// Network checks run inside a container by the Docker tests, from where an app sits:
//   docker exec -i <container> node --input-type=module - <check> ... < in-container.mjs
// Each prints one JSON line.
//   connect HOST PORT     a TCP connection within 3 s? {"connected":true} or {"connected":false,"error":"..."}
//   resolve NAME          the container's DNS (one try, 2 s): {"addresses":["..."]} or {"error":"ETIMEOUT"}
//   get-via PROXY URL     an absolute-form GET of URL through the HTTP proxy PROXY: {"status":200,"body":"..."}
//   get URL               a plain GET: {"status":200,"body":"..."}
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';

const [check, ...args] = process.argv.slice(2);

function tryConnect(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(3000, () => done({ connected: false, error: 'timed out after 3 s' }));
    socket.once('connect', () => done({ connected: true }));
    socket.once('error', (err) => done({ connected: false, error: err.code ?? err.message }));
  });
}

async function resolve(name) {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  const servers = [...readFileSync('/etc/resolv.conf', 'utf8').matchAll(/^nameserver\s+(\S+)/gm)].map(
    (m) => m[1],
  );
  resolver.setServers(servers);
  try {
    return { addresses: await resolver.resolve4(name) };
  } catch (err) {
    return { error: err.code ?? err.message };
  }
}

function get(url, proxy) {
  const target = new URL(url);
  const via = proxy ? new URL(proxy) : target;
  return new Promise((resolve) => {
    const req = request(
      {
        host: via.hostname,
        port: Number(via.port || 80),
        path: proxy ? url : `${target.pathname}${target.search}`,
        headers: { host: target.host },
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 10 s')));
    req.on('error', (err) => resolve({ status: 0, error: err.code ?? err.message }));
    req.end();
  });
}

const checks = {
  connect: () => tryConnect(args[0], args[1]),
  resolve: () => resolve(args[0]),
  'get-via': () => get(args[1], args[0]),
  get: () => get(args[0]),
};
const run = checks[check];
if (!run) {
  console.error(`unknown check "${check}"; one of: ${Object.keys(checks).join(', ')}`);
  process.exit(2);
}
console.log(JSON.stringify(await run()));
