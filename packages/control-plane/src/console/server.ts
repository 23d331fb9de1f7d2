// The console's HTTP server (port 20001): the built page (static files), its JSON API and a Server-Sent
// Events stream of live state. With STRAIT_TOKEN set, every request needs the token: once as ?token=
// (kept in an HttpOnly cookie) or as a bearer header.
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { ConsolePaths, Errors, StraitError } from '@strait/api';
import type { Logger } from 'pino';
import { authorized, sendError, sendJson } from '../api/http-util.ts';
import { queryOf } from '../traces/routes.ts';
import type { TraceStore } from '../traces/store.ts';
import type { ConsoleService } from './service.ts';

export interface ConsoleServerOptions {
  service: ConsoleService;
  /** The control plane's spans, for the Traces page. */
  traces: TraceStore | undefined;
  /** The built page: index.html, console.js, console.css. */
  assetsDir: string;
  token: string | undefined;
  logger: Logger;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

const COOKIE = 'strait_console_token';

/** Nothing the page loads comes from elsewhere; the policy says so to the browser too. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function createConsoleServer(o: ConsoleServerOptions): Server {
  const server = createServer((req, res) => {
    handle(o, req, res).catch((err: unknown) => {
      if (!(err instanceof StraitError) || err.status >= 500)
        o.logger.error({ err }, 'console request failed');
      sendError(res, err);
    });
  });
  // Event streams stay open; heartbeats keep them busy.
  server.requestTimeout = 0;
  return server;
}

async function handle(o: ConsoleServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://console');
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD')
    throw new StraitError(Errors.BAD_REQUEST, 'the console only reads: use GET');
  if (!allowed(o.token, req, url, res)) return;
  const path = url.pathname;
  if (path === ConsolePaths.state) {
    sendJson(res, 200, await o.service.state());
    return;
  }
  if (path === ConsolePaths.events) {
    openEvents(o, req, res);
    return;
  }
  if (path.startsWith(ConsolePaths.proxy)) {
    const id = decodeURIComponent(path.slice(ConsolePaths.proxy.length));
    const detail = id ? await o.service.proxyDetail(id) : undefined;
    if (!detail) throw new StraitError(Errors.NOT_FOUND, `no proxy "${id}"`);
    sendJson(res, 200, detail);
    return;
  }
  if (path === ConsolePaths.traces) {
    sendJson(res, 200, { traces: o.traces?.list(queryOf(url)) ?? [] });
    return;
  }
  if (path.startsWith(`${ConsolePaths.traces}/`)) {
    const id = decodeURIComponent(path.slice(ConsolePaths.traces.length + 1));
    const trace = o.traces?.get(id);
    if (!trace)
      throw new StraitError(Errors.NOT_FOUND, `no trace "${id.slice(0, 64)}" (it may have been evicted)`);
    sendJson(res, 200, trace);
    return;
  }
  if (path.startsWith('/api/')) throw new StraitError(Errors.NOT_FOUND, path);
  await sendAsset(o.assetsDir, path, res);
}

/** True when no token is set or the request carries it; `?token=` is moved into a cookie by a redirect. */
function allowed(token: string | undefined, req: IncomingMessage, url: URL, res: ServerResponse): boolean {
  if (!token) return true;
  const given = url.searchParams.get('token');
  if (given !== null && same(given, token)) {
    url.searchParams.delete('token');
    res.writeHead(303, {
      location: `${url.pathname}${url.search}`,
      'set-cookie': `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
    });
    res.end();
    return false;
  }
  const cookie = /(?:^|;\s*)strait_console_token=([^;]*)/.exec(req.headers.cookie ?? '')?.[1];
  if ((cookie !== undefined && same(decodeURIComponent(cookie), token)) || authorized(req, token))
    return true;
  throw new StraitError(
    Errors.UNAUTHORIZED,
    'this control plane has a token: open the console once as http://<console>/?token=<STRAIT_TOKEN>',
  );
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** SSE: one `state` event per new state, a comment every 15 s so idle proxies in between keep it open. */
function openEvents(o: ConsoleServerOptions, req: IncomingMessage, res: ServerResponse): void {
  req.socket.setTimeout(0);
  req.socket.setNoDelay(true);
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    ...SECURITY_HEADERS,
  });
  // Tell the browser to come back soon after a lost connection (a restarted control plane).
  res.write('retry: 1000\n\n');
  const unsubscribe = o.service.subscribe((state) => {
    res.write(`event: state\ndata: ${JSON.stringify(state)}\n\n`);
  });
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  res.on('close', () => {
    clearInterval(keepAlive);
    unsubscribe();
  });
}

async function sendAsset(dir: string, path: string, res: ServerResponse): Promise<void> {
  // The page routes by hash (#/graph, #/proxies/…), so every other path is a file or nothing.
  const name = path === '/' ? 'index.html' : normalize(decodeURIComponent(path)).replace(/^([/\\])+/, '');
  if (name.startsWith('..') || name.includes('\0')) throw new StraitError(Errors.NOT_FOUND, path);
  let body: Buffer;
  try {
    body = await readFile(join(dir, name));
  } catch {
    if (name === 'index.html') {
      const text = `The console's pages are not built (nothing at ${dir}). Run: npm run build\n`;
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      res.end(text);
      return;
    }
    throw new StraitError(Errors.NOT_FOUND, path);
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
    ...SECURITY_HEADERS,
  });
  res.end(body);
}
