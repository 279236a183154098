// One error shape for everything minipod reports.
//
// Failures that come from the system carry Node's SystemError fields (code, errno,
// syscall, path, dest) plus the pod and container they concern, and a message in one
// style: what was done, on which path, and the errno by name and by text, e.g.
//   pod "demo" container "web": mount "/var/lib/minipod/pods/demo/volumes/x" -> "/www": ENOENT (No such file or directory) [step mounts[17]:bind, open_tree]

import util from 'node:util';

import type { NativeFailure } from './native/binding.ts';

/** Exit codes of the CLI (README, "Exit codes"). */
export const EXIT = {
  ok: 0,
  /** minipod itself failed: bad manifest, missing image, setup error (as podman/docker use 125). */
  minipod: 125,
  /** A usage error; for `image rm` and `network rm`: the object is in use (as podman). */
  usage: 2,
  inUse: 2,
  notFound: 1,
  /** The command exists but cannot be run (EACCES), as docker and podman. */
  cannotRun: 126,
  /** The command was not found, as docker, podman and shells. */
  commandNotFound: 127,
} as const;

/** The exit code for a process that could not be started: 127 not found, 126 not runnable, else 125. */
export function startFailureExit(f: { syscall?: string | null; errno?: number | null }): number {
  if (f.syscall !== 'execve') return EXIT.minipod;
  const e = Math.abs(f.errno ?? 0);
  if (e === 2 || e === 20) return EXIT.commandNotFound; // ENOENT, ENOTDIR
  if (e === 13 || e === 8) return EXIT.cannotRun; // EACCES, ENOEXEC
  return EXIT.minipod;
}

export class MinipodError extends Error {
  code: string;
  exitCode: number;
  constructor(message: string, opts: { code?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MinipodError';
    this.code = opts.code ?? 'ERR_MINIPOD';
    this.exitCode = opts.exitCode ?? EXIT.minipod;
  }
}

export function errnoName(errno: number): string {
  try {
    return util.getSystemErrorName(-Math.abs(errno));
  } catch {
    return `E${Math.abs(errno)}`;
  }
}

/** The errno's text as strerror(3) words it (libuv's map has it in lower case). */
export function errnoText(errno: number): string {
  const t = util.getSystemErrorMap().get(-Math.abs(errno))?.[1] ?? 'unknown error';
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** What a step of the executor was doing, in a word a user knows. */
function verb(step: string | undefined, syscall: string): string {
  const op = step?.split(':')[1];
  if (step?.startsWith('mounts[')) {
    if (op === 'mknod' || op === 'symlink' || op === 'mkdir') return op;
    if (op === 'pivot') return 'pivot_root';
    if (op === 'propagation') return 'make-rprivate';
    return 'mount';
  }
  if (step?.startsWith('namespaces[') && op === 'join') return 'join namespace';
  if (step?.startsWith('namespaces')) return op === 'fork' ? 'fork' : 'unshare';
  return syscall;
}

/**
 * The one-line description of an executor failure (without who it happened to). The
 * executor formats it itself (native/exec/describe.c: the supervisor's messages and
 * state.json use the same words), and the addon hands it over as `description`; this
 * rendering of the same shape is for failures that did not come through it (tests).
 */
export function describeFailure(f: NativeFailure): string {
  if (f.code === 'ERR_MINIPOD_PLAN') return (f as unknown as Error).message ?? 'invalid plan';
  if (f.description) return f.description;
  const name = errnoName(f.errno);
  const text = errnoText(f.errno);
  if (f.syscall === 'execve' && f.detail) return `exec "${f.path}": ${f.detail} (${name})`;
  if (f.syscall === 'execve') return `exec "${f.path}": ${name} (${text})`;
  const where = f.path && f.dest ? ` "${f.path}" -> "${f.dest}"` : f.path ? ` "${f.path}"` : f.dest ? ` -> "${f.dest}"` : '';
  const detail = f.detail ? `: ${f.detail}` : '';
  return `${verb(f.step, f.syscall)}${where}: ${name} (${text})${detail} [step ${f.step ?? '?'}, ${f.syscall}]`;
}

export function who(pod: string, container?: string): string {
  return container ? `pod "${pod}" container "${container}"` : `pod "${pod}"`;
}

/** An executor failure, as an Error with Node's SystemError fields. */
export class SpawnError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  dest?: string;
  step?: string;
  detail?: string;
  pod: string;
  container?: string;
  /** What the CLI exits with: 127/126 for a command that cannot be run, as docker and podman. */
  exitCode: number;
  constructor(f: NativeFailure, pod: string, container?: string) {
    super(`${who(pod, container)}: ${describeFailure(f)}`);
    this.name = 'SpawnError';
    this.exitCode = startFailureExit(f);
    this.code = f.code === 'ERR_MINIPOD_PLAN' ? f.code : errnoName(f.errno);
    this.errno = -Math.abs(f.errno ?? 0);
    this.syscall = f.syscall;
    this.path = f.path;
    this.dest = f.dest;
    this.step = f.step;
    this.detail = f.detail;
    this.pod = pod;
    this.container = container;
  }
}

/** Turns an error thrown by the addon into a SpawnError naming the pod and container. */
export function fromNative(e: unknown, pod: string, container?: string): Error {
  if (e && typeof e === 'object' && 'syscall' in e) return new SpawnError(e as NativeFailure, pod, container);
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * A problem with one field of the manifest found after validation (while planning or
 * starting), e.g. a missing image. The CLI adds FILE:LINE:COL from the manifest's positions.
 */
export class FieldError extends MinipodError {
  field: string;
  constructor(field: string, message: string, opts: { code?: string; exitCode?: number } = {}) {
    super(`${field}: ${message}`, opts);
    this.name = 'FieldError';
    this.field = field;
  }
}
