// Parsing YAML/JSON text into resources and validating each one against its schema.
// Every problem becomes a ConfigIssue naming the file, the document, the resource and the field path.
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { type ErrorSpec, Errors, StraitError } from '../errors.ts';
import type { PlainResource } from '../resource-api.ts';
import { formatPath } from '../validate.ts';
import { findComplexityProblem } from './complexity.ts';
import { fieldsOf, schemaPlace, unknownFieldHint, unknownKindHint } from './field-hints.ts';
import {
  apiVersionsOf,
  KIND_NAMES,
  KINDS,
  type Kind,
  MetadataSchema,
  type Origin,
  type Resource,
} from './schemas.ts';

/** One problem in the configuration. */
export interface ConfigIssue {
  error: ErrorSpec;
  origin: Origin;
  kind?: string;
  /** The resource's apiVersion, when the document gave one. */
  apiVersion?: string;
  name?: string;
  path: string;
  message: string;
}

/** A parsed but not yet validated document. */
export interface RawDocument {
  origin: Origin;
  value: unknown;
}

/** `file: document 2 (VirtualService reviews): spec.http[0].timeout: expected a duration ...` */
export function formatIssue(issue: ConfigIssue): string {
  const what = issue.kind ? ` (${issue.kind}${issue.name ? ` ${shorten(issue.name)}` : ''})` : '';
  const item = issue.origin.item ? ` item ${issue.origin.item}` : '';
  return `${issue.origin.file}: document ${issue.origin.document}${item}${what}: ${issue.path}: ${issue.message}`;
}

/** One StraitError for a list of issues; its code is the first issue's. */
export function issuesError(issues: readonly ConfigIssue[]): StraitError {
  const first = issues[0];
  const error = new StraitError(first?.error ?? Errors.CONFIG_INVALID, issues.map(formatIssue).join('\n'));
  (error as StraitError & { issues?: readonly ConfigIssue[] }).issues = issues;
  return error;
}

/**
 * Splits YAML (or JSON) text into documents; a JSON array or a `List` gives one document per item. Text that
 * nests deeper or holds more documents than any configuration is refused before it is parsed.
 */
export function parseDocuments(text: string, file: string): { docs: RawDocument[]; issues: ConfigIssue[] } {
  const docs: RawDocument[] = [];
  const issues: ConfigIssue[] = [];
  const problem = findComplexityProblem(text);
  if (problem) {
    const origin = { file, document: 1 };
    const message = `${problem.message} (line ${problem.line}); refused before parsing`;
    return { docs, issues: [{ error: Errors.CONFIG_TOO_COMPLEX, origin, path: '(root)', message }] };
  }
  let index = 0;
  for (const doc of parseAllDocuments(text)) {
    index++;
    const origin = { file, document: index };
    if (doc.errors.length > 0) {
      for (const err of doc.errors)
        issues.push({ error: Errors.CONFIG_PARSE, origin, path: '(root)', message: oneLine(err.message) });
      continue;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const items = expandList(value);
    if (items === undefined) docs.push({ origin, value });
    else
      items.forEach((item, i) => {
        docs.push({ origin: { file, document: index, item: i + 1 }, value: item });
      });
  }
  return { docs, issues };
}

function expandList(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (isRecord(value) && Array.isArray(value.items) && (value.kind === undefined || value.kind === 'List'))
    return value.items;
  return undefined;
}

/** A value echoed in an error, cut so that a huge one cannot make a huge answer. */
function shorten(value: string, max = 100): string {
  return value.length <= max ? value : `${value.slice(0, max)}… (${value.length} characters)`;
}

function oneLine(message: string): string {
  return message.split('\n')[0]?.trim() ?? message;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const SHORT_NAMES: Record<string, Kind> = {
  gw: 'Gateway',
  vs: 'VirtualService',
  dr: 'DestinationRule',
  se: 'ServiceEntry',
  we: 'WorkloadEntry',
  hc: 'HealthCheck',
  rl: 'RateLimit',
  pa: 'PeerAuthentication',
  ap: 'AuthorizationPolicy',
};

/** Finds a kind by its name (any case), a plural such as `virtualservices`, or istioctl's short name (`vs`). */
export function resolveKind(text: string): Kind | undefined {
  const lower = text.toLowerCase();
  if (SHORT_NAMES[lower]) return SHORT_NAMES[lower];
  return KIND_NAMES.find((k) => {
    const name = k.toLowerCase();
    return (
      name === lower || `${name}s` === lower || (name.endsWith('y') && `${name.slice(0, -1)}ies` === lower)
    );
  });
}

/** Validates one document's shape; returns the resource or the issues found. */
export function validateDocument(doc: RawDocument): { resource?: Resource; issues: ConfigIssue[] } {
  const { origin, value } = doc;
  const issues: ConfigIssue[] = [];
  if (!isRecord(value)) {
    issues.push({
      error: Errors.CONFIG_INVALID,
      origin,
      path: '(root)',
      message: 'expected a resource (a mapping with apiVersion, kind, metadata and spec)',
    });
    return { issues };
  }
  const kindText = value.kind;
  const metadataName =
    isRecord(value.metadata) && typeof value.metadata.name === 'string' ? value.metadata.name : undefined;
  const base = {
    origin,
    name: metadataName,
    ...(typeof value.apiVersion === 'string' ? { apiVersion: value.apiVersion } : {}),
  } as const;
  if (typeof kindText !== 'string' || !(kindText in KINDS)) {
    const hint =
      typeof kindText === 'string'
        ? unknownKindHint(kindText, KIND_NAMES)
        : { error: Errors.CONFIG_INVALID, message: `expected one of ${KIND_NAMES.join(', ')}` };
    issues.push({
      ...base,
      error: hint.error,
      kind: typeof kindText === 'string' ? kindText : undefined,
      path: 'kind',
      message: hint.message,
    });
    return { issues };
  }
  const kind = kindText as Kind;
  const withKind = { ...base, kind };
  const expectedVersions = apiVersionsOf(kind);
  if (typeof value.apiVersion !== 'string' || !expectedVersions.includes(value.apiVersion)) {
    issues.push({
      ...withKind,
      error: Errors.CONFIG_INVALID,
      path: 'apiVersion',
      message: `expected ${expectedVersions.join(' or ')} for ${kind}, got ${JSON.stringify(value.apiVersion)}`,
    });
  }
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL_FIELDS.includes(key))
      issues.push({ ...withKind, ...unknownFieldHint(kind, '(root)', key, TOP_LEVEL_FIELDS), path: key });
  }
  const metadata = MetadataSchema.safeParse(value.metadata);
  if (!metadata.success) issues.push(...zodIssues(metadata.error, MetadataSchema, 'metadata', withKind));
  const specSchema = KINDS[kind].spec as z.ZodType;
  const spec = specSchema.safeParse(value.spec);
  if (!spec.success) issues.push(...zodIssues(spec.error, specSchema, 'spec', withKind));
  if (issues.length > 0 || !metadata.success || !spec.success) return { issues };
  if (kind === 'MeshConfig' && metadata.data.name !== 'mesh') {
    issues.push({
      ...withKind,
      error: Errors.CONFIG_INVALID,
      path: 'metadata.name',
      message: 'expected "mesh" (there is one MeshConfig)',
    });
    return { issues };
  }
  const resource = {
    apiVersion: value.apiVersion as string,
    kind,
    metadata: { ...metadata.data, namespace: metadata.data.namespace ?? 'default' },
    spec: spec.data,
    origin,
  } as Resource;
  return { resource, issues };
}

const TOP_LEVEL_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];

/** Issues of one part of a resource (`metadata` or `spec`, validated by `schema`) as ConfigIssues. */
function zodIssues(
  error: z.ZodError,
  schema: z.ZodType,
  part: string,
  at: { origin: Origin; kind: Kind; name: string | undefined; apiVersion?: string },
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [part, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      const place = schemaPlace(schema, part, issue.path);
      const supported = fieldsOf(place.schema);
      for (const key of issue.keys)
        out.push({
          ...at,
          ...unknownFieldHint(at.kind, place.pattern, key, supported),
          path: formatPath([...path, key]),
        });
      continue;
    }
    out.push({
      ...at,
      error: Errors.CONFIG_INVALID,
      path: formatPath(path),
      message: cleanMessage(issue.message),
    });
  }
  return out;
}

function cleanMessage(message: string): string {
  return message.replace(/^Invalid input: /, '').replace(/^Invalid option: /, '');
}

/** Parses and validates a set of files (name -> text). Resources come back in file and document order. */
export function loadTexts(files: ReadonlyMap<string, string>): {
  resources: Resource[];
  issues: ConfigIssue[];
} {
  const resources: Resource[] = [];
  const issues: ConfigIssue[] = [];
  for (const file of [...files.keys()].sort()) {
    const parsed = parseDocuments(files.get(file) ?? '', file);
    issues.push(...parsed.issues);
    for (const doc of parsed.docs) {
      const result = validateDocument(doc);
      issues.push(...result.issues);
      if (result.resource) resources.push(result.resource);
    }
  }
  return { resources, issues };
}

/** The identity of a resource: kind, namespace and name. */
export function resourceKey(r: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${r.kind}/${r.metadata.namespace ?? 'default'}/${r.metadata.name}`;
}

/** A resource as users write it (no origin) with its resourceVersion when it has one, e.g. for GET. */
export function plainResource(r: Resource): PlainResource {
  const plain = resourceContent(r);
  if (r.metadata.resourceVersion !== undefined) plain.metadata.resourceVersion = r.metadata.resourceVersion;
  return plain;
}

/** What a resource says, without where it came from or its resourceVersion: what is stored and compared. */
export function resourceContent(r: Resource): PlainResource {
  const metadata: PlainResource['metadata'] = { name: r.metadata.name, namespace: r.metadata.namespace };
  if (r.metadata.labels) metadata.labels = r.metadata.labels;
  if (r.metadata.annotations) metadata.annotations = r.metadata.annotations;
  return { apiVersion: r.apiVersion, kind: r.kind, metadata, spec: r.spec as Record<string, unknown> };
}
