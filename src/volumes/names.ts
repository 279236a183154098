// The name and path rules Kubernetes applies to volumes, keys and projected files
// (k8s.io/apimachinery validation), as predicates that return a problem or undefined.

import path from 'node:path';

/** path.normalize without a trailing slash ("/srv/data/" and "/srv/data" are one path). */
export function cleanPath(p: string): string {
  return path.normalize(p).replace(/(.)\/+$/, '$1');
}

/** Volume names are DNS-1123 labels: they also name a directory on the host. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** IsEnvVarName. */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** IsConfigMapKey: a key is also a file name in a volume. */
const KEY = /^[-._a-zA-Z0-9]+$/;

export function dnsLabelProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || !name) return 'a name is required';
  if (name.length > 63) return `"${name}" is longer than 63 characters`;
  if (!DNS_LABEL.test(name)) return `"${name}" is not a DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit)`;
  return undefined;
}

export function isEnvVarName(name: string): boolean {
  return ENV_NAME.test(name);
}

export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string' || !key) return 'a key is required';
  if (key.length > 253) return `key "${key.slice(0, 40)}..." is longer than 253 characters`;
  if (!KEY.test(key)) return `key "${key}" is not valid: only letters, digits, '-', '_' and '.' (it becomes a file name)`;
  if (key === '.' || key === '..' || key.startsWith('..')) return `key "${key}" must not be '.', '..' or start with '..'`;
  return undefined;
}

/**
 * A path inside a volume (items[].path, subPath): relative, no '..' element. Kubernetes also
 * reserves names starting with '..' for its own bookkeeping (..data) in projected volumes.
 */
export function relativePathProblem(p: unknown, what: string, opts: { reserved?: boolean; required?: boolean } = {}): string | undefined {
  if (typeof p !== 'string') return `${what} must be a string`;
  if (!p) return opts.required === false ? undefined : `${what} must not be empty`;
  if (p.startsWith('/')) return `${what} "${p}" must be a relative path`;
  if (p.includes('\0')) return `${what} must not contain a NUL byte`;
  if (p.split('/').includes('..')) return `${what} "${p}" must not contain '..'`;
  if (opts.reserved && p.startsWith('..')) return `${what} "${p}" must not start with '..'`;
  if (p.length > 4095) return `${what} is longer than 4095 characters`;
  if (p.split('/').some((c) => c.length > 255)) return `${what} "${p.slice(0, 40)}...": a path element is longer than 255 characters`;
  return undefined;
}

/** File modes in volumes: 0 to 0777, as Kubernetes allows. */
export function modeProblem(mode: unknown): string | undefined {
  if (mode === undefined) return undefined;
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    // YAML 1.2 reads 0644 as decimal 644; a cluster reads it as octal. Say which is meant.
    const hint = typeof mode === 'number' && /^[0-7]{3,4}$/.test(String(mode)) ? ` (did you mean 0${String(mode).replace(/^0/, '')} octal? write it as 0o${String(mode).replace(/^0/, '')} or ${parseInt(String(mode), 8)})` : '';
    return `must be a file mode between 0 and 0777 (octal, i.e. 0 to 511), got ${JSON.stringify(mode)}${hint}`;
  }
  return undefined;
}
