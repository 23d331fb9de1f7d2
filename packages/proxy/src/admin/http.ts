// A tiny router for the proxy's small HTTP servers (admin, stats, readiness): exact paths, allowed methods,
// 404/405/500 answered as JSON with catalogue codes. No request bodies are read; HEAD is served as GET.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type ErrorSpec, Errors } from '@strait/api';
import type pino from 'pino';

export interface Reply {
  status: number;
  body: string;
  contentType?: string;
}

export type RouteHandler = (url: URL, req: IncomingMessage) => Reply | Promise<Reply>;

export interface AdminRoute {
  path: string;
  method: 'GET' | 'POST';
  handle: RouteHandler;
}

export function jsonReply(status: number, value: unknown): Reply {
  return { status, body: `${JSON.stringify(value, null, 2)}\n`, contentType: 'application/json' };
}

export function textReply(status: number, text: string): Reply {
  return { status, body: `${text}\n`, contentType: 'text/plain; charset=utf-8' };
}

export function errorReply(spec: ErrorSpec, detail?: string, status = spec.status): Reply {
  return jsonReply(status, {
    code: spec.code,
    message: detail ? `${spec.message}: ${detail}` : spec.message,
  });
}

/** Builds a request listener that dispatches to `routes` by exact path. */
export function router(routes: readonly AdminRoute[], logger?: pino.Logger): RequestListener {
  const byPath = new Map<string, AdminRoute[]>();
  for (const route of routes) {
    const list = byPath.get(route.path) ?? [];
    list.push(route);
    byPath.set(route.path, list);
  }
  return (req, res) => {
    // Bodies are never needed; drain them so the connection can be reused.
    req.resume();
    void answer(req, res).catch((err: unknown) => {
      logger?.error(
        { err: err instanceof Error ? err.message : String(err), path: req.url },
        'admin handler failed',
      );
      if (!res.headersSent)
        send(res, req, jsonReply(500, { code: 'STRAIT_INTERNAL', message: 'internal error' }));
      else res.destroy();
    });
  };

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const candidates = byPath.get(url.pathname);
    if (!candidates) {
      send(res, req, errorReply(Errors.NOT_FOUND, url.pathname));
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const route = candidates.find((r) => r.method === method);
    if (!route) {
      const allow = [
        ...new Set(candidates.flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]))),
      ];
      res.setHeader('allow', allow.join(', '));
      send(
        res,
        req,
        errorReply(Errors.BAD_REQUEST, `method ${req.method} not allowed on ${url.pathname}`, 405),
      );
      return;
    }
    send(res, req, await route.handle(url, req));
  }
}

function send(res: ServerResponse, req: IncomingMessage, reply: Reply): void {
  const body = Buffer.from(reply.body, 'utf8');
  res.writeHead(reply.status, {
    'content-type': reply.contentType ?? 'text/plain; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
