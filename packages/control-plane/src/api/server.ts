// The control plane's main HTTP server (15010): discovery stream and ACKs, the resource API,
// proxy status and per-proxy snapshots, and the trace API (OTLP in, traces out).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  ApiPaths,
  type ApplyResponse,
  Errors,
  identityOfNode,
  type NodeInfo,
  type ProxyStatusList,
  REPLICA_HEADER,
  type ResourceList,
  SOURCE_HEADER,
  StraitError,
  spiffeId,
} from '@strait/api';
import { issuesError, type Kind, plainResource, resolveKind } from '@strait/api/resources';
import type { Logger } from 'pino';
import { callerIdentity, sameIdentity } from '../ca/caller.ts';
import type { MeshIdentity } from '../ca/mesh-identity.ts';
import type { ConfigStore, ResourceRef } from '../config/types.ts';
import { handleTraces } from '../traces/routes.ts';
import type { TraceStore } from '../traces/store.ts';
import type { DiscoveryService } from '../xds/discovery.ts';
import { issueCertificate } from './certificates.ts';
import { documentsOf } from './documents.ts';
import {
  MAX_BODY_BYTES,
  readBody,
  readJson,
  requireAuth,
  sendError,
  sendJson,
  sendYaml,
} from './http-util.ts';
import { OffThreadParser } from './off-thread-parser.ts';

export interface ApiServerOptions {
  store: ConfigStore;
  discovery: DiscoveryService;
  /** Where POST /v1/traces puts spans, and GET /v1/traces reads them. */
  traces: TraceStore;
  /** This replica's name, sent with every answer. */
  replica: string;
  /** The API token: resource writes and snapshot reads (and discovery, when there is no mesh identity). */
  token: string | undefined;
  /** The CA and join token: discovery then needs a proxy's mesh certificate. */
  identity?: MeshIdentity | undefined;
  logger: Logger;
  /** How long a client may take to send a whole request (head and body). Default 30 s. */
  requestTimeoutMs?: number;
}

/** The options plus what the server owns: the worker that parses request bodies. */
interface ApiContext extends ApiServerOptions {
  parser: OffThreadParser;
}

/** How long a client may take to send its request head. */
const HEADERS_TIMEOUT_MS = 10_000;

export function createApiServer(options: ApiServerOptions): Server {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const o: ApiContext = { ...options, parser: new OffThreadParser() };
  const server = createServer(
    {
      // A discovery stream's request is small and complete at once; only its response lives long, so
      // these bound slow heads and bodies without touching streams.
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
      requestTimeout,
      connectionsCheckingInterval: Math.min(1000, requestTimeout),
      // Proxies post ACKs on kept-alive connections; a short idle timeout races with a busy client that
      // reuses a connection the server is just closing (the ACK is lost and counted as a failure).
      keepAliveTimeout: 65_000,
    },
    (req, res) => {
      res.setHeader(REPLICA_HEADER, o.replica);
      handle(o, req, res).catch((err: unknown) => {
        if (!(err instanceof StraitError) || err.status >= 500) o.logger.error({ err }, 'request failed');
        sendError(res, err);
      });
    },
  );
  server.on('close', () => void o.parser.close());
  return server;
}

async function handle(o: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://control-plane');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';

  if (path === ApiPaths.discovery && method === 'POST') {
    const check = nodeCheck(o, req);
    o.discovery.openStream(req, res, await readJson(req), check);
    return;
  }
  if (path === ApiPaths.ack && method === 'POST') {
    const check = nodeCheck(o, req);
    sendJson(res, 200, o.discovery.receiveAck(await readJson(req), check));
    return;
  }
  if (path === ApiPaths.certificates && method === 'POST') {
    if (!o.identity) throw new StraitError(Errors.NOT_FOUND, 'this control plane runs no CA');
    sendJson(res, 200, await issueCertificate(o.identity, req, await readJson(req)));
    return;
  }
  if ((path === ApiPaths.ready || path === '/healthz') && method === 'GET') {
    // Ready while it serves proxies; a store that cannot take writes is reported, not fatal.
    sendJson(res, 200, { ready: true, replica: o.replica, store: o.store.health() });
    return;
  }
  if (path === ApiPaths.proxies && method === 'GET') {
    const body: ProxyStatusList = { proxies: o.discovery.status() };
    sendJson(res, 200, body);
    return;
  }
  const snapshotId = childOf(ApiPaths.snapshots, path);
  if (snapshotId !== undefined && method === 'GET') {
    requireAuth(req, o.token);
    const id = decodeURIComponent(snapshotId);
    const snapshot = o.discovery.snapshotOf(id);
    if (!snapshot) throw new StraitError(Errors.NOT_FOUND, `no proxy "${id}"`);
    sendJson(res, 200, snapshot);
    return;
  }
  if (await handleTraces(o.traces, req, res, url, path)) return;
  if (path === ApiPaths.resources || path.startsWith(`${ApiPaths.resources}/`)) {
    await resources(
      o,
      req,
      res,
      url,
      path.slice(ApiPaths.resources.length).split('/').filter(Boolean),
      method,
    );
    return;
  }
  throw new StraitError(Errors.NOT_FOUND, `${method} ${path}`);
}

/**
 * Who may speak for a node on the discovery stream. With a mesh identity: only a caller whose certificate
 * holds the node's identity (namespace and service account), so a proxy gets only its own snapshot and
 * registers only its own service. Without one: the API token, as before.
 */
function nodeCheck(o: ApiContext, req: IncomingMessage): ((node: NodeInfo) => void) | undefined {
  if (!o.identity) {
    requireAuth(req, o.token);
    return undefined;
  }
  const caller = callerIdentity(req);
  if (!caller)
    throw new StraitError(
      Errors.UNAUTHORIZED,
      `discovery needs the proxy's mesh certificate over TLS; a first one comes from POST ${ApiPaths.certificates} with the join token`,
    );
  const trustDomain = o.identity.ca.trustDomain;
  return (node) => {
    const claimed = identityOfNode(node, trustDomain);
    if (!sameIdentity(claimed, caller))
      throw new StraitError(
        Errors.FORBIDDEN,
        `the certificate holds ${spiffeId(caller)}; node "${node.id}" would be ${spiffeId(claimed)}`,
      );
  };
}

/** The one path segment after `base` (`/v1/snapshots/x` gives `x`), or undefined. */
function childOf(base: string, path: string): string | undefined {
  if (!path.startsWith(`${base}/`)) return undefined;
  const rest = path.slice(base.length + 1);
  return rest === '' || rest.includes('/') ? undefined : rest;
}

function wantsYaml(req: IncomingMessage, url: URL): boolean {
  const format = url.searchParams.get('format') ?? url.searchParams.get('output');
  if (format) return format === 'yaml';
  return /yaml/.test(req.headers.accept ?? '');
}

function kindOf(text: string): Kind {
  const kind = resolveKind(decodeURIComponent(text));
  if (!kind) throw new StraitError(Errors.NOT_FOUND, `no resource kind "${text}"`);
  return kind;
}

async function resources(
  o: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  parts: string[],
  method: string,
): Promise<void> {
  const namespace = url.searchParams.get('namespace') ?? undefined;
  if (method === 'GET') {
    if (parts.length > 2) throw new StraitError(Errors.NOT_FOUND, url.pathname);
    const kind = parts[0] ? kindOf(parts[0]) : undefined;
    const name = parts[1] ? decodeURIComponent(parts[1]) : undefined;
    const found = o.store.find(kind, name, namespace).map(plainResource);
    if (name !== undefined) {
      const one = found[0];
      if (!one) throw new StraitError(Errors.NOT_FOUND, `no ${kind} "${name}"`);
      if (wantsYaml(req, url)) sendYaml(res, 200, [one]);
      else sendJson(res, 200, one);
      return;
    }
    const list: ResourceList = { items: found };
    if (wantsYaml(req, url)) sendYaml(res, 200, found);
    else sendJson(res, 200, list);
    return;
  }
  if (method === 'PUT' || method === 'POST') {
    requireAuth(req, o.token);
    if (parts.length > 0)
      throw new StraitError(Errors.BAD_REQUEST, `${method} goes to ${ApiPaths.resources}`);
    const body = await readBody(req, MAX_BODY_BYTES);
    const { docs, issues } = await o.parser.parse(body, sourceName(req));
    const answer: ApplyResponse = { results: await o.store.apply(docs, issues) };
    o.logger.info({ results: answer.results }, 'resources applied');
    sendJson(res, 200, answer);
    return;
  }
  if (method === 'DELETE') {
    requireAuth(req, o.token);
    let refs: ResourceRef[];
    const precondition = url.searchParams.get('resourceVersion') ?? undefined;
    if (parts.length === 2) {
      refs = [
        {
          kind: kindOf(parts[0] as string),
          name: decodeURIComponent(parts[1] as string),
          ...(namespace ? { namespace } : {}),
          ...(precondition ? { resourceVersion: precondition } : {}),
        },
      ];
    } else if (parts.length === 0) {
      refs = refsFromBody(await readBody(req, MAX_BODY_BYTES), req);
    } else
      throw new StraitError(
        Errors.BAD_REQUEST,
        `DELETE ${ApiPaths.resources}/<kind>/<name>, or DELETE ${ApiPaths.resources} with resources in the body`,
      );
    const answer: ApplyResponse = { results: await o.store.delete(refs) };
    o.logger.info({ results: answer.results }, 'resources deleted');
    sendJson(res, 200, answer);
    return;
  }
  throw new StraitError(Errors.BAD_REQUEST, `${method} is not supported on ${ApiPaths.resources}`);
}

function sourceName(req: IncomingMessage): string {
  const header = req.headers[SOURCE_HEADER];
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return 'request';
  try {
    return decodeURIComponent(value).slice(0, 200);
  } catch {
    return value.slice(0, 200);
  }
}

/** The kind/name/namespace of every document in a delete body (the rest of each document is not checked). */
function refsFromBody(text: string, req: IncomingMessage): ResourceRef[] {
  const { docs, issues } = documentsOf(text, sourceName(req));
  if (issues.length > 0) throw issuesError(issues);
  const refs: ResourceRef[] = [];
  for (const doc of docs) {
    const value = doc.value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
    const kind = typeof value?.kind === 'string' ? resolveKind(value.kind) : undefined;
    const name = value?.metadata?.name;
    if (!kind || typeof name !== 'string')
      throw new StraitError(
        Errors.BAD_REQUEST,
        `${doc.origin.file}: document ${doc.origin.document}: expected a known kind and metadata.name`,
      );
    const ns = value?.metadata?.namespace;
    const version = (value?.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
    refs.push({
      kind,
      name,
      ...(typeof ns === 'string' ? { namespace: ns } : {}),
      ...(typeof version === 'string' ? { resourceVersion: version } : {}),
    });
  }
  if (refs.length === 0) throw new StraitError(Errors.BAD_REQUEST, 'no resources in the request');
  return refs;
}
