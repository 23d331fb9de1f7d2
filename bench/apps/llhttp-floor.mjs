// The lowest floor for a Node proxy hop: node:net sockets, Node's own llhttp binding (HTTPParser) on both
// sides, keep-alive upstream sockets, each head built once and sent with the body bytes read with it in one
// write. No routing, metrics or logs. Plain JavaScript, so no type stripping is loaded (as with Strait's bundle).
//   node bench/apps/llhttp-floor.mjs --listen 127.0.120.6:8080 --upstream http://127.0.120.1:8080
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { parseArgs } from 'node:util';

const { HTTPParser, methods } = createRequire(import.meta.url)('_http_common');
const { values } = parseArgs({ options: { listen: { type: 'string' }, upstream: { type: 'string' } } });
const listen = /^([^:]+):(\d+)$/.exec(values.listen ?? '');
const upstreamUrl = URL.canParse(values.upstream ?? '') ? new URL(values.upstream) : undefined;
if (!listen || upstreamUrl?.protocol !== 'http:') {
  process.stderr.write('usage: llhttp-floor.mjs --listen HOST:PORT --upstream http://HOST:PORT\n');
  process.exit(2);
}
const upstreamAt = { host: upstreamUrl.hostname, port: Number(upstreamUrl.port || 80) };
/** Hop-by-hop fields: never forwarded (Transfer-Encoding is kept: the body is re-framed to match it). */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);
const CRLF = '\r\n';
const LAST_CHUNK = `0${CRLF}${CRLF}`;
const refusal = (status) =>
  `HTTP/1.1 ${status}${CRLF}content-length: 0${CRLF}connection: close${CRLF}${CRLF}`;

/** A strict parser (no lenient flags, 60 KiB heads) whose callbacks go to `on`. */
function parser(kind, on) {
  const p = new HTTPParser();
  p.initialize(kind, {}, 60 * 1024, HTTPParser.kLenientNone);
  let early = []; // fields llhttp hands over before the head is complete (more than 32 of them)
  p[HTTPParser.kOnHeaders] = (raw) => early.push(...raw);
  p[HTTPParser.kOnHeadersComplete] = (
    _major,
    _minor,
    raw,
    method,
    target,
    status,
    reason,
    upgrade,
    keepAlive,
  ) => {
    const fields = early.length > 0 ? [...early, ...(raw ?? [])] : (raw ?? []);
    early = [];
    return on.head({ fields, method: methods[method], target, status, reason, upgrade, keepAlive });
  };
  p[HTTPParser.kOnBody] = (chunk) => on.body(chunk);
  p[HTTPParser.kOnMessageComplete] = () => on.done();
  return p;
}

/** A head's field lines without hop-by-hop fields; whether its body is chunked, and whether it is sized. */
function fieldLines(fields) {
  let text = '';
  let chunked = false;
  let sized = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i].toLowerCase();
    if (HOP.has(name)) continue;
    if (name === 'transfer-encoding') chunked = true;
    else if (name === 'content-length') sized = true;
    text += `${fields[i]}: ${fields[i + 1]}${CRLF}`;
  }
  return { text, chunked, sized };
}

/** A body piece as it goes out: as parsed, or as one chunk when the body is chunked. */
const framed = (chunked, chunk) =>
  chunked
    ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}${CRLF}`), chunk, Buffer.from(CRLF)])
    : chunk;

/** Holds a socket's writes until this tick's parsing is done, so a head and its body leave in one write. */
function corkForTick(socket) {
  if (socket.writableCorked > 0) return;
  socket.cork();
  process.nextTick(() => socket.uncork());
}

/** Writes with back-pressure: the reading side pauses until the writing side drains. */
function relay(to, data, from) {
  if (to.write(data) || from.isPaused()) return;
  from.pause();
  to.once('drain', () => from.resume());
}

/** Idle keep-alive connections to the upstream; the most recently used is taken first. */
const idle = [];

/** Closes an upstream connection whose exchange is given up (a response half-read leaves it unusable). */
function abandon(conn) {
  conn.exchange = undefined;
  conn.socket.destroy();
}

/** One upstream connection: its response parser reports to whichever exchange holds it. */
function upstreamConnection() {
  const socket = connect(upstreamAt);
  socket.setNoDelay(true);
  const conn = { socket, exchange: undefined, reused: false };
  conn.parser = parser(HTTPParser.RESPONSE, {
    head: (h) => conn.exchange.responseHead(h),
    body: (chunk) => conn.exchange.responseBody(chunk),
    done: () => conn.exchange.responseDone(),
  });
  socket.on('data', (data) => {
    if (typeof conn.parser.execute(data) !== 'number') socket.destroy();
  });
  socket.on('end', () => conn.exchange && conn.parser.finish()); // ends a body delimited by the close
  socket.on('error', () => {});
  socket.on('close', () => {
    const at = idle.indexOf(conn);
    if (at >= 0) idle.splice(at, 1);
    conn.parser.close();
    conn.exchange?.upstreamLost(conn);
  });
  return conn;
}

/** Serves one client connection: its requests in order, each over a pooled upstream connection. */
function serve(client) {
  client.setNoDelay(true);
  const queue = []; // requests parsed and not yet answered; queue[0] is the one being forwarded
  let reading; // the request whose body the parser is reading
  let broken = false;

  function forward(ex, conn = idle.pop() ?? upstreamConnection()) {
    conn.exchange = ex;
    ex.upstream = conn;
    corkForTick(conn.socket);
    conn.socket.write(ex.head);
    for (const chunk of ex.pending) conn.socket.write(framed(ex.chunked, chunk));
    ex.pending = [];
    if (ex.ended && ex.chunked) conn.socket.write(LAST_CHUNK);
  }

  function answered(ex, reusable) {
    const conn = ex.upstream;
    conn.exchange = undefined;
    conn.reused = true;
    if (reusable) idle.push(conn);
    else conn.socket.destroy();
    queue.shift();
    if (!ex.keepAlive) client.end();
    else if (queue[0]) forward(queue[0]);
  }

  const exchange = (h) => {
    const lines = fieldLines(h.fields);
    return {
      method: h.method,
      keepAlive: h.keepAlive,
      chunked: lines.chunked,
      /** Safe to send again on another connection: nothing of it can have been consumed. */
      replayable: (h.method === 'GET' || h.method === 'HEAD') && !lines.chunked && !lines.sized,
      head: `${h.method} ${h.target} HTTP/1.1${CRLF}${lines.text}${CRLF}`,
      pending: [], // body read before an upstream connection was assigned, kept to replay
      ended: false,
      upstream: undefined,
      status: 0,
      responseHead(r) {
        const out = fieldLines(r.fields);
        this.status = r.status;
        // A body that ends when the upstream closes goes on chunked, so the client's connection survives.
        this.reframe = out.chunked || (!out.sized && r.status >= 200 && r.status !== 204 && r.status !== 304);
        this.upstreamKeepAlive = r.keepAlive;
        const te = this.reframe && !out.chunked ? `transfer-encoding: chunked${CRLF}` : '';
        const close = this.keepAlive || r.status < 200 ? '' : `connection: close${CRLF}`;
        corkForTick(client);
        client.write(`HTTP/1.1 ${r.status} ${r.reason}${CRLF}${out.text}${te}${close}${CRLF}`);
        return this.method === 'HEAD' ? 1 : 0; // a response to HEAD has no body to parse
      },
      responseBody(chunk) {
        if (this.method !== 'HEAD') relay(client, framed(this.reframe, chunk), this.upstream.socket);
      },
      responseDone() {
        if (this.status < 200) return; // 100 Continue: the real response follows
        if (this.reframe && this.method !== 'HEAD') client.write(LAST_CHUNK);
        answered(this, this.upstreamKeepAlive);
      },
      upstreamLost(conn) {
        conn.exchange = undefined;
        // A kept-alive connection the upstream closed just before this request: try once on a new one.
        if (this.status === 0 && conn.reused && this.replayable) return forward(this, upstreamConnection());
        if (this.status !== 0) return client.destroy();
        client.write(refusal('502 Bad Gateway'));
        this.keepAlive = false;
        this.upstream = conn;
        answered(this, false);
      },
    };
  };

  const requests = parser(HTTPParser.REQUEST, {
    head(h) {
      if (h.upgrade) {
        broken = true;
        client.end(refusal('501 Not Implemented'));
        return 0;
      }
      reading = exchange(h);
      queue.push(reading);
      if (queue.length === 1) forward(reading);
      return 0;
    },
    body(chunk) {
      if (reading.upstream === undefined) return void reading.pending.push(chunk);
      relay(reading.upstream.socket, framed(reading.chunked, chunk), client);
    },
    done() {
      reading.ended = true;
      if (reading.upstream && reading.chunked) reading.upstream.socket.write(LAST_CHUNK);
    },
  });

  client.on('data', (data) => {
    if (broken || typeof requests.execute(data) === 'number') return;
    broken = true; // malformed: refuse it when nothing else is owed, else drop the connection
    if (reading && !reading.ended) {
      queue.pop(); // llhttp may fail after the head (a bad Transfer-Encoding): the request is dropped unsent
      if (reading.upstream) abandon(reading.upstream); // still corked, so nothing of it went out
    }
    if (queue.length === 0) client.end(refusal('400 Bad Request'));
    else client.destroy();
  });
  client.on('error', () => {});
  client.on('close', () => {
    requests.close();
    for (const ex of queue.splice(0)) if (ex.upstream) abandon(ex.upstream);
  });
}

const server = createServer({ noDelay: true }, serve);
server.listen(Number(listen[2]), listen[1], () => {
  const { address, port } = server.address();
  process.stdout.write(`llhttp-floor listening on ${address}:${port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  for (const conn of idle) conn.socket.destroy();
  process.exit(0);
});
