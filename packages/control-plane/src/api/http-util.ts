// Small HTTP helpers shared by the control plane's servers: bodies, JSON/YAML answers, errors, tokens.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ErrorBody, Errors, StraitError, type VersionConflict } from '@strait/api';
import { stringify } from 'yaml';

/** The largest resource-API body: far above any configuration, small enough to parse quickly. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The request body as text. Plain 'data'/'end' listeners rather than an async iterator: every proxy
 * ACKs every push on this path, and the iterator's set-up and tear-down cost more than the small body.
 * A body over `limit` (by Content-Length, or as it arrives) is refused with 413 naming the limit; the
 * rest of it is read and dropped, so the client sees the answer rather than a reset.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => {
      req.resume();
      reject(
        new StraitError(Errors.PAYLOAD_TOO_LARGE, `the request body is over the limit of ${limit} bytes`),
      );
    };
    if (Number(req.headers['content-length']) > limit) {
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        tooLarge();
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () =>
      resolve(
        chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'),
      ),
    );
    // A client that goes away (or times out) mid-body is its own fault: a 400, not a logged server error.
    const ended = () => reject(new StraitError(Errors.BAD_REQUEST, 'the request ended before its body'));
    req.once('error', ended);
    req.once('close', () => {
      if (!req.complete) ended();
    });
  });
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
  const body: ErrorBody = { error: { code: e.code, message: e.message } };
  if (e.detail) body.error.detail = e.detail;
  const conflicts = (e as StraitError & { conflicts?: VersionConflict[] }).conflicts;
  if (conflicts) body.error.conflicts = conflicts;
  sendJson(res, e.status, body);
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
