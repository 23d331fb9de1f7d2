// What to say about a field or kind the schemas do not know, as kubectl does: a typo one or two edits from a
// supported name gets `did you mean "weight"?`; a real Istio field or kind Strait does not support yet is
// said to be one (STRAIT_CONFIG_UNSUPPORTED), which is a different thing from a typo (STRAIT_CONFIG_UNKNOWN_FIELD).
import type { z } from 'zod';
import { type ErrorSpec, Errors } from '../errors.ts';
import { ISTIO_KINDS_NOT_SUPPORTED, istioFieldsAt } from './istio-fields.ts';

export interface FieldHint {
  error: ErrorSpec;
  message: string;
}

/**
 * Edits (insert, delete, substitute, swap two neighbours) between two names, ignoring case; stops counting
 * past `limit` and returns limit + 1 then.
 */
export function editDistance(a: string, b: string, limit = 2): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  if (Math.abs(s.length - t.length) > limit) return limit + 1;
  let twoBack: number[] = [];
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min(
        (previous[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1])
        d = Math.min(d, (twoBack[j - 2] as number) + 1);
      row.push(d);
      best = Math.min(best, d);
    }
    if (best > limit) return limit + 1;
    twoBack = previous;
    previous = row;
  }
  return Math.min(previous[t.length] as number, limit + 1);
}

/** The candidate nearest `name` within two edits (one for names of four letters or fewer), if any. */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  const limit = name.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const d = editDistance(name, candidate, limit);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Where a path leads in a schema: the object's schema and the path's pattern (`spec.http[].route[]`). */
interface SchemaPlace {
  schema: z.ZodType | undefined;
  pattern: string;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { def: SchemaDef }).def;
}

/** Unwraps optional, default, nullable and pipe layers. */
function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (let i = 0; current && i < 10; i++) {
    const def = defOf(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
  return current;
}

/** Follows a validation issue's path through a schema; numbers step into arrays, other keys into objects or maps. */
export function schemaPlace(root: z.ZodType, rootPattern: string, path: readonly PropertyKey[]): SchemaPlace {
  let schema = unwrap(root);
  let pattern = rootPattern;
  for (const part of path) {
    if (!schema) break;
    const def = defOf(schema);
    if (typeof part === 'number' && def.element) {
      schema = unwrap(def.element);
      pattern += '[]';
    } else if (def.shape && typeof part === 'string') {
      schema = unwrap(def.shape[part]);
      pattern += pattern === '' ? part : `.${part}`;
    } else if (def.valueType) {
      schema = unwrap(def.valueType);
      pattern += '.*';
    } else schema = undefined;
  }
  return { schema, pattern: pattern === '' ? '(root)' : pattern };
}

/**
 * Every object a schema holds, by pattern (`spec`, `spec.http[]`, `spec.http[].match[].headers.*`), with the
 * fields it accepts, in schema order: what docs/configuration.md's field tables are made from.
 */
export function schemaObjects(root: z.ZodType, rootPattern: string): { pattern: string; fields: string[] }[] {
  const out: { pattern: string; fields: string[] }[] = [];
  const visit = (schema: z.ZodType | undefined, pattern: string): void => {
    const s = unwrap(schema);
    if (!s) return;
    const def = defOf(s);
    if (def.element) visit(def.element, `${pattern}[]`);
    else if (def.valueType) visit(def.valueType, `${pattern}.*`);
    else if (def.options) for (const option of def.options) visit(option, pattern);
    if (!def.shape) return;
    const fields = Object.keys(def.shape);
    const seen = out.find((o) => o.pattern === pattern);
    if (seen) seen.fields.push(...fields.filter((f) => !seen.fields.includes(f)));
    else out.push({ pattern, fields });
    for (const field of fields) visit(def.shape[field], `${pattern}.${field}`);
  };
  visit(root, rootPattern);
  return out;
}

/** The field names an object schema (or any option of a union of them) accepts. */
export function fieldsOf(schema: z.ZodType | undefined): string[] {
  if (!schema) return [];
  const def = defOf(schema);
  if (def.shape) return Object.keys(def.shape);
  if (def.options) return [...new Set(def.options.flatMap((o) => fieldsOf(unwrap(o))))];
  return [];
}

/**
 * The error for `key`, which the object at `pattern` of a `kind` does not accept. `supported` are the names
 * it does accept there.
 */
export function unknownFieldHint(
  kind: string,
  pattern: string,
  key: string,
  supported: readonly string[],
): FieldHint {
  const istio = istioFieldsAt(kind, pattern);
  const expected = supported.length > 0 ? `; supported here: ${supported.join(', ')}` : '';
  if (istio.includes(key))
    return {
      error: Errors.CONFIG_UNSUPPORTED,
      message: `"${key}" is an Istio field that Strait does not support yet${expected}`,
    };
  const typo = nearestName(key, supported);
  if (typo) return { error: Errors.CONFIG_UNKNOWN_FIELD, message: `unknown field; did you mean "${typo}"?` };
  const istioTypo = nearestName(key, istio);
  if (istioTypo)
    return {
      error: Errors.CONFIG_UNKNOWN_FIELD,
      message: `unknown field; did you mean "${istioTypo}"? (an Istio field that Strait does not support yet)`,
    };
  const where = istio.length > 0 ? `Istio has no such field here` : `no such field`;
  return { error: Errors.CONFIG_UNKNOWN_FIELD, message: `unknown field (${where})${expected}` };
}

/** The message for a `kind` Strait does not read: a typo of one it reads, an Istio kind, or neither. */
export function unknownKindHint(kind: string, supported: readonly string[]): FieldHint {
  const list = `supported kinds: ${supported.join(', ')}`;
  if ((ISTIO_KINDS_NOT_SUPPORTED as readonly string[]).includes(kind))
    return {
      error: Errors.CONFIG_UNSUPPORTED,
      message: `${kind} is an Istio kind that Strait does not support yet (${list})`,
    };
  const typo = nearestName(kind, supported);
  if (typo) return { error: Errors.CONFIG_UNSUPPORTED, message: `unknown kind; did you mean "${typo}"?` };
  return {
    error: Errors.CONFIG_UNSUPPORTED,
    message: `expected one of ${supported.join(', ')}, got "${kind}"`,
  };
}
