// What every CLI verb shares: option parsing, the state root, manifest loading with
// positions, and turning errors into one message and an exit code.

import { parseArgs, type ParseArgsConfig } from 'node:util';

import { EXIT, MinipodError, SpawnError } from '../errors.ts';
import { stateRoots, type StateRoots } from '../state/paths.ts';

export interface Verb {
  name: string;
  summary: string;
  usage: string;
  main(argv: string[]): Promise<number>;
}

export class UsageError extends MinipodError {
  constructor(message: string) {
    super(message, { code: 'ERR_USAGE', exitCode: EXIT.usage });
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_OPTIONS: Options = {
  root: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/** parseArgs with minipod's global options; unknown options are usage errors. */
export function parse<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** --root DIR, else MINIPOD_ROOT, else /var/lib/minipod + /run/minipod. */
export function rootsFrom(values: Record<string, unknown>): StateRoots {
  if (typeof values.root === 'string') process.env.MINIPOD_ROOT = values.root;
  return stateRoots();
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new MinipodError(`${what} needs root (namespaces, mounts and the network are root's): try sudo`, { code: 'EPERM' });
}

/** Prints an error the way every verb does and returns its exit code. */
export function report(e: unknown): number {
  // A manifest's diagnostics name FILE:LINE:COL themselves (by code: the spec module is
  // not loaded by commands that read no manifest).
  if (e instanceof MinipodError && e.code === 'ERR_MANIFEST') {
    process.stderr.write(`${e.message}\n`);
    return EXIT.minipod;
  }
  if (e instanceof MinipodError) {
    process.stderr.write(`minipod: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(`minipod: ${err?.message ?? String(e)}\n`);
  if (process.env.MINIPOD_DEBUG && err?.stack) process.stderr.write(`${err.stack}\n`);
  return e instanceof SpawnError ? e.exitCode : EXIT.minipod;
}

export function warn(line: string): void {
  process.stderr.write(line.startsWith('warning') ? `${line}\n` : `warning: ${line}\n`);
}

export function help(verb: Verb): number {
  process.stdout.write(`${verb.usage.trim()}\n`);
  return EXIT.ok;
}

/** Left-aligned columns separated by three spaces, as kubectl prints them. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

export function outputFormat(value: unknown, allowed: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value)) throw new UsageError(`--output must be one of ${allowed.join(', ')}`);
  return value;
}

/** YAML output, the library loaded only when asked for (most commands never need it). */
export async function toYaml(value: unknown): Promise<string> {
  return (await import('yaml')).stringify(value);
}

/** `-t/--time SECONDS`: a grace period in seconds, or undefined when not given. */
export function graceOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--time takes a number of seconds (0 or more), not "${v}"`);
  return n;
}
