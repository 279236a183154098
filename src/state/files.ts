// Small file helpers for state: atomic JSON writes (temp + rename, so readers never see a
// half-written file) and tolerant reads.

import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

import type { StateRoots } from './paths.ts';

/**
 * Makes the two state roots exist and be reachable by root only (0700, as the kubelet and
 * containerd keep theirs). Everything a container can write (its upper layer, emptyDirs,
 * logs) lies below them: a setuid-root file a container writes must never be runnable by a
 * host user, and no host user may read a pod's plan (Secret values) or state. A root that
 * exists with a wider mode (an older minipod) is narrowed.
 */
export function secureRoots(roots: StateRoots): void {
  rootOnlyDir(roots.lib);
  rootOnlyDir(roots.run);
}

/** mkdir -p dir, then make dir itself 0700 (its parents are left as they are). */
export function rootOnlyDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if ((st.mode & 0o7777) !== 0o700) chmodSync(dir, 0o700);
}

export function writeJsonAtomic(file: string, value: unknown, mode = 0o644): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode });
  renameSync(tmp, file);
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Creates file (O_EXCL) holding owner as JSON: the one step that claims a lease (an
 * address, a block of user ids). false when it exists (another owner's).
 */
export function claimFile(file: string, owner: object, mode: number): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, JSON.stringify(owner) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}
