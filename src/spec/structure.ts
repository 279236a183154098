// The structural pass: every field has the type Kubernetes gives it. Runs before the
// semantic checks (validate.ts), which may then trust the types.

import { parseQuantity } from './quantity.ts';
import { joinPath } from './parse.ts';
import type { Fields, FieldType } from './schema.ts';

export interface Issue {
  path: string;
  message: string;
  /** unsupported / unknown are warnings unless --strict. */
  kind: 'error' | 'unsupported' | 'unknown';
}

function typeName(t: FieldType): string {
  if (typeof t === 'string') return { string: 'a string', int: 'an integer', bool: 'true or false', intOrString: 'an integer or a string', quantity: 'a quantity such as 64Mi', any: 'a value' }[t];
  if ('obj' in t) return 'an object';
  if ('arr' in t) return 'a list';
  return 'a map';
}

function actual(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mismatch(path: string, t: FieldType, v: unknown): Issue {
  const hint = t === 'string' && (typeof v === 'number' || typeof v === 'boolean') ? ' (quote it: "…")' : '';
  return { path, kind: 'error', message: `must be ${typeName(t)}, not ${actual(v)}${hint}` };
}

/** Checks value against type; pushes issues. null counts as absent, as in Kubernetes. */
export function checkType(value: unknown, t: FieldType, path: string, out: Issue[]): void {
  if (value === null || value === undefined) return;
  if (t === 'any') return;
  if (t === 'string') {
    if (typeof value !== 'string') out.push(mismatch(path, t, value));
    // A NUL would cut the string short where it reaches the kernel (argv, env, paths).
    else if (value.includes('\0')) out.push({ path, kind: 'error', message: 'must not contain a NUL byte' });
  } else if (t === 'int') {
    if (!Number.isInteger(value)) out.push(mismatch(path, t, value));
  } else if (t === 'bool') {
    if (typeof value !== 'boolean') out.push(mismatch(path, t, value));
  } else if (t === 'intOrString') {
    if (typeof value !== 'string' && !Number.isInteger(value)) out.push(mismatch(path, t, value));
  } else if (t === 'quantity') {
    if ((typeof value !== 'string' && typeof value !== 'number') || parseQuantity(value) === undefined) out.push(mismatch(path, t, value));
  } else if ('arr' in t) {
    if (!Array.isArray(value)) out.push(mismatch(path, t, value));
    else value.forEach((item, i) => checkType(item, t.arr, joinPath(path, i), out));
  } else if ('map' in t) {
    if (!isObject(value)) out.push(mismatch(path, t, value));
    else
      for (const [k, v] of Object.entries(value)) {
        if (k.includes('\0')) out.push({ path: joinPath(path, k), kind: 'error', message: 'the key must not contain a NUL byte' });
        checkType(v, t.map, joinPath(path, k), out);
      }
  } else {
    if (!isObject(value)) out.push(mismatch(path, t, value));
    else checkFields(value, t.obj, path, out);
  }
}

export function checkFields(obj: Record<string, unknown>, fields: Fields, path: string, out: Issue[]): void {
  for (const [k, v] of Object.entries(obj)) {
    const p = joinPath(path, k);
    const spec = Object.hasOwn(fields, k) ? fields[k] : undefined;
    if (!spec) {
      out.push({ path: p, kind: 'unknown', message: 'unknown field (Kubernetes has no such field here; it is ignored)' });
      continue;
    }
    if (spec.unsupported && v !== null && v !== undefined) {
      const why = spec.unsupported === true ? '' : ` (${spec.unsupported})`;
      out.push({ path: p, kind: 'unsupported', message: `not supported yet and is ignored${why}` });
      continue;
    }
    checkType(v, spec.type, p, out);
  }
  for (const [k, spec] of Object.entries(fields)) {
    if (spec.required && (obj[k] === undefined || obj[k] === null)) out.push({ path: joinPath(path, k), kind: 'error', message: 'is required' });
  }
}
