// The trace API on the control plane's API port: POST /v1/traces takes OTLP/HTTP JSON (as an OpenTelemetry
// collector does, answering with OTLP's partial success when spans were not kept), GET /v1/traces lists
// recent traces (`service`, `minDurationMs`, `limit`) and GET /v1/traces/<id> gives one trace's spans.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiPaths, Errors, type OtlpExportResponse, StraitError, type TraceList } from '@strait/api';
import { readBody, sendJson } from '../api/http-util.ts';
import { decodeExport } from './otlp.ts';
import type { TraceQuery, TraceStore } from './store.ts';

/** An export batch may be larger than a configuration change. */
const MAX_EXPORT_BYTES = 8 * 1024 * 1024;

/** Handles a trace API request; false when the path is not the trace API's. */
export async function handleTraces(
  store: TraceStore,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  path: string,
): Promise<boolean> {
  const method = req.method ?? 'GET';
  if (path === ApiPaths.traces && method === 'POST') {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type))
      throw new StraitError(
        Errors.UNSUPPORTED_MEDIA_TYPE,
        `send OTLP/HTTP with the JSON encoding (content-type: application/json), not ${JSON.stringify(type)}`,
      );
    const text = await readBody(req, MAX_EXPORT_BYTES);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new StraitError(Errors.BAD_REQUEST, `the body is not JSON: ${(err as Error).message}`);
    }
    const spans = decodeExport(body);
    const rejected = store.add(spans);
    const answer: OtlpExportResponse =
      rejected > 0
        ? { partialSuccess: { rejectedSpans: rejected, errorMessage: 'trace full or span already stored' } }
        : {};
    sendJson(res, 200, answer);
    return true;
  }
  if (path === ApiPaths.traces && method === 'GET') {
    const body: TraceList = { traces: store.list(queryOf(url)) };
    sendJson(res, 200, body);
    return true;
  }
  if (path.startsWith(`${ApiPaths.traces}/`) && method === 'GET') {
    const id = decodeURIComponent(path.slice(ApiPaths.traces.length + 1));
    const trace = store.get(id);
    if (!trace)
      throw new StraitError(Errors.NOT_FOUND, `no trace "${id.slice(0, 64)}" (it may have been evicted)`);
    sendJson(res, 200, trace);
    return true;
  }
  return false;
}

/** The list query of a trace API request (`service`, `minDurationMs`, `limit`), checked. */
export function queryOf(url: URL): TraceQuery {
  const query: TraceQuery = {};
  const service = url.searchParams.get('service');
  if (service) query.service = service;
  const min = url.searchParams.get('minDurationMs');
  if (min !== null) query.minDurationMs = numberParam('minDurationMs', min, 0, Number.MAX_SAFE_INTEGER);
  const limit = url.searchParams.get('limit');
  if (limit !== null) query.limit = numberParam('limit', limit, 1, 1000);
  return query;
}

function numberParam(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max)
    throw new StraitError(
      Errors.BAD_REQUEST,
      `${name}: expected a number from ${min} to ${max}, got ${JSON.stringify(text.slice(0, 40))}`,
    );
  return value;
}
