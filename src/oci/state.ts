// The state minipod-oci keeps per container, written here at create and read by the native
// front end (native/oci/state.c) too: ROOT/ID/state.json (root-only) and, from
// create until start, ROOT/ID/exec.fifo, the gate the init waits on. The init is named by
// its pid and its start time (/proc/PID/stat field 22), as crun's status.c keeps it: a
// pid reused by another process never passes for the container's.

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { OciHook } from './config.ts';

export interface OciState {
  id: string;
  bundle: string;
  pid: number;
  /** The init's start time in clock ticks since boot (/proc/PID/stat field 22). */
  start: number;
  created: string;
  annotations: Record<string, string>;
  /** The cgroup (path in the hierarchies) and its directories. */
  cgroup?: { path: string; dirs: string[] };
  /** The namespaces the init has, by type: an exec joins them all. */
  namespaces: string[];
  /** The init's seccomp filter: what an exec gets too. */
  seccomp?: unknown;
  /** The freezer of the cgroup (pause, resume, the "paused" status): v1 freezer.state or v2 cgroup.freeze in dir. */
  freezer?: { v2: boolean; dir: string };
  /** Run by the native front end: poststart by start, poststop by delete. */
  hooks?: { poststart?: OciHook[]; poststop?: OciHook[] };
}

export class NotFound extends Error {
  constructor(id: string) {
    super(`container "${id}" does not exist`);
  }
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,1023}$/;

export function checkId(id: string): void {
  if (!ID.test(id)) throw new Error(`invalid container id "${id}": letters, digits, '_', '.', '+' and '-' only`);
}

export function containerDir(root: string, id: string): string {
  checkId(id);
  return path.join(root, id);
}

export function fifoPath(root: string, id: string): string {
  return path.join(containerDir(root, id), 'exec.fifo');
}

export function ensureRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  chmodSync(root, 0o700);
}

export function readOciState(root: string, id: string): OciState {
  const file = path.join(containerDir(root, id), 'state.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as OciState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(id);
    throw e;
  }
}

export function writeOciState(root: string, s: OciState): void {
  const dir = containerDir(root, s.id);
  const tmp = path.join(dir, `.state.${process.pid}`);
  writeFileSync(tmp, JSON.stringify(s), { mode: 0o600 });
  renameSync(tmp, path.join(dir, 'state.json'));
}

/** A process's start time, or undefined when it is gone (or a zombie: it has ended). */
export function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return Number(rest[19]);
  } catch {
    return undefined;
  }
}

export type OciStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** The init still runs as this container's (same pid, same start time). */
export function initAlive(s: OciState): boolean {
  return s.pid > 0 && startTime(s.pid) === s.start;
}

/** As native/oci/state.c derives it (which also tells "paused" from the freezer). */
export function statusOf(root: string, s: OciState): OciStatus {
  if (!initAlive(s)) return 'stopped';
  // start unlinks the gate before it lets the init go
  if (existsSync(fifoPath(root, s.id))) return 'created';
  return 'running';
}
