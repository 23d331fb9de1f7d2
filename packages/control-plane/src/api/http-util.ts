// Small HTTP helpers shared by the control plane's servers: bodies, JSON/YAML answers, errors, tokens.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Errors, StraitError } from '@strait/api';
import { stringify } from 'yaml';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new StraitError(Errors.BAD_REQUEST, `request body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req, 256 * 1024);
  try {
    return JSON.parse(text);
  } catch {
    throw new StraitError(Errors.BAD_REQUEST, 'expected a JSON body');
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = `${JSON.stringify(value, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendYaml(res: ServerResponse, status: number, docs: unknown[]): void {
  const body = docs.map((d) => stringify(d)).join('---\n');
  res.writeHead(status, { 'content-type': 'application/yaml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Answers with `{ error: { code, message, detail } }` and the error's status. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const e =
    err instanceof StraitError
      ? err
      : new StraitError(Errors.BAD_REQUEST, err instanceof Error ? err.message : String(err));
  const body: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.detail) body.detail = e.detail;
  sendJson(res, e.status, { error: body });
}

/** True when no token is configured or the request carries `Authorization: Bearer <token>`. */
export function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match) return false;
  const given = Buffer.from(match[1] as string);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function requireAuth(req: IncomingMessage, token: string | undefined): void {
  if (!authorized(req, token))
    throw new StraitError(Errors.UNAUTHORIZED, 'send Authorization: Bearer <STRAIT_TOKEN>');
}
