// Header manipulation (Istio's headers.request/response set/add/remove), compiled once, applied per request.
import { Errors, type HeaderOps, StraitError } from '@strait/api';

/** A plain header object as Node and undici use them: lower-case names, one string or several. */
export type HeaderObject = Record<string, string | string[] | undefined>;

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
 * Applies compiled operations to a header object in place: first remove, then set (replacing any
 * value), then add (appending).
 *
 * Appending follows RFC 9110 §5.3: several field lines with one name mean the same as one line with
 * the values joined by ", ", so an existing string value is comma-joined (`"a, b"`), which keeps the
 * object's values strings as most code expects. The exception is `set-cookie`, which cannot be joined:
 * it becomes (or stays) an array. An existing array value is appended to.
 */
export function applyHeaderOps(headers: HeaderObject, ops: CompiledHeaderOps): void {
  const { remove, setNames, setValues, addNames, addValues } = ops;
  for (let i = 0; i < remove.length; i++) {
    delete headers[remove[i] as string];
  }
  for (let i = 0; i < setNames.length; i++) {
    headers[setNames[i] as string] = setValues[i] as string;
  }
  for (let i = 0; i < addNames.length; i++) {
    const name = addNames[i] as string;
    const value = addValues[i] as string;
    const existing = headers[name];
    if (existing === undefined) {
      headers[name] = name === 'set-cookie' ? [value] : value;
    } else if (Array.isArray(existing)) {
      existing.push(value);
    } else if (name === 'set-cookie') {
      headers[name] = [existing, value];
    } else {
      headers[name] = `${existing}, ${value}`;
    }
  }
}
