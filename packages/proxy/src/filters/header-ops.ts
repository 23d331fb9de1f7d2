// Header manipulation (Istio's headers.request/response set/add/remove): compiled once, applied per request
// to the raw field list going upstream (request side) or downstream (response side).
import { Errors, type HeaderOps, StraitError } from '@strait/api';
import { removeField, setField } from '../codec/headers.ts';
import type { Stream } from '../listener/stream.ts';
import type { FilterResult, HttpFilter } from './types.ts';

/** HeaderOps checked and lower-cased once; parallel name/value arrays so applying allocates nothing extra. */
export interface CompiledHeaderOps {
  readonly remove: readonly string[];
  readonly setNames: readonly string[];
  readonly setValues: readonly string[];
  readonly addNames: readonly string[];
  readonly addValues: readonly string[];
}

// RFC 9110 token characters, lower-case only (names are lower-cased before the check).
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
// A field value must not carry CR, LF or NUL (Node would throw when sending it).
const BAD_VALUE = /[\r\n\0]/;

function checkName(name: string, where: string): string {
  const lower = name.toLowerCase();
  if (!HEADER_NAME.test(lower)) {
    throw new StraitError(Errors.SNAPSHOT_INVALID, `${where}: "${name}" is not a valid header name`);
  }
  return lower;
}

function checkValue(name: string, value: string, where: string): string {
  if (BAD_VALUE.test(value)) {
    throw new StraitError(Errors.SNAPSHOT_INVALID, `${where}: value for "${name}" contains CR, LF or NUL`);
  }
  return value;
}

/**
 * Checks and lower-cases header operations. Returns undefined when there is nothing to do, so callers
 * can skip the step with one test. Throws STRAIT_SNAPSHOT_INVALID on a bad name or value.
 */
export function compileHeaderOps(ops: HeaderOps | undefined): CompiledHeaderOps | undefined {
  if (ops === undefined) return undefined;
  const remove = (ops.remove ?? []).map((n) => checkName(n, 'headers.remove'));
  const setNames: string[] = [];
  const setValues: string[] = [];
  for (const [name, value] of Object.entries(ops.set ?? {})) {
    setNames.push(checkName(name, 'headers.set'));
    setValues.push(checkValue(name, value, 'headers.set'));
  }
  const addNames: string[] = [];
  const addValues: string[] = [];
  for (const [name, value] of Object.entries(ops.add ?? {})) {
    addNames.push(checkName(name, 'headers.add'));
    addValues.push(checkValue(name, value, 'headers.add'));
  }
  if (remove.length === 0 && setNames.length === 0 && addNames.length === 0) return undefined;
  return Object.freeze({ remove, setNames, setValues, addNames, addValues });
}

/**
 * Applies compiled operations to a raw field list ([name, value, ...]) in place: first remove, then set
 * (replacing every value), then add. An added value is a field line of its own: RFC 9110 §5.3 reads several
 * lines with one name as the values joined by ", ", and set-cookie, which cannot be joined, stays apart.
 */
export function applyHeaderOps(raw: string[], ops: CompiledHeaderOps): void {
  const { remove, setNames, setValues, addNames, addValues } = ops;
  for (let i = 0; i < remove.length; i++) removeField(raw, remove[i] as string);
  for (let i = 0; i < setNames.length; i++) setField(raw, setNames[i] as string, setValues[i] as string);
  for (let i = 0; i < addNames.length; i++) raw.push(addNames[i] as string, addValues[i] as string);
}

/** The route's request and response header operations. */
export const headerOpsFilter: HttpFilter = {
  name: 'header_ops',
  onRequest(stream: Stream): FilterResult {
    const ops = stream.route?.requestHeaderOps;
    if (ops) applyHeaderOps(stream.upstreamRaw, ops);
    return undefined;
  },
  onResponseHead(stream: Stream, raw: string[]): void {
    const ops = stream.route?.responseHeaderOps;
    if (ops) applyHeaderOps(raw, ops);
  },
};
