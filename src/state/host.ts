// host.json: what minipod did on the host for one pod, written by the parent BEFORE each
// change is made, so that teardown and `gc` can undo exactly that, even after a crash
// halfway through. (state.json, next to it, is the supervisor's view of the containers.)

import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

import type { NativeBinding } from '../native/binding.ts';
import { readJson, writeJsonAtomic } from './files.ts';
import type { PodDirs, StateRoots } from './paths.ts';
import type { ProcRef } from './proc.ts';

export interface HostRecord {
  pod: string;
  uid: string;
  namespace: string;
  createdAt: string;
  /** The manifest file the pod came from, when it came from a file. */
  manifest?: string;
  dirs: PodDirs;
  /** Foreground pods are removed when `minipod run` ends; detached ones stay until `rm`. */
  detached: boolean;
  /** The minipod process that is creating the pod (until the supervisor runs). */
  creator?: ProcRef;
  supervisor?: ProcRef;
  /**
   * pause, and its namespaces' inodes. ipcPin is a bind mount of pause's IPC namespace
   * (nsfs) in the pod's run directory: while it is mounted the namespace exists, so its
   * inode cannot be reused by another one, and teardown can trust it to find the pod's
   * processes even after pause died.
   */
  pause?: ProcRef & { ipcNs?: number; netNs?: number; ipcPin?: string };
  /** The pod's address (the host's with hostNetwork), once allocated. */
  podIP?: string;
  /** Host mounts made for the pod, e.g. its /dev/shm tmpfs. */
  mounts: string[];
  /** Host network changes (bridge port, addresses, firewall rules), owned by src/net. */
  network?: Record<string, unknown>;
  /** Set once the host side has been undone; the directories stay for `ps -a` and `logs`. */
  torndown?: boolean;
  /** Its supervisor died without finishing (killed); found and cleaned up later. */
  lost?: boolean;
}

export function hostFile(dirs: PodDirs): string {
  return path.join(dirs.run, 'host.json');
}

export function readHost(dirs: PodDirs): HostRecord | undefined {
  return readJson<HostRecord>(hostFile(dirs));
}

export function writeHost(rec: HostRecord): void {
  writeJsonAtomic(hostFile(rec.dirs), rec);
}

/** Applies a change to host.json and writes it before the caller acts on it. */
export function recordHost(rec: HostRecord, change: (r: HostRecord) => void): void {
  change(rec);
  writeHost(rec);
}

/**
 * Runs fn holding the pod's lock: an flock on RUN/locks/NAME.lock, a file outside the
 * pod's directory so that it outlives the directory's removal. Serialises teardown, gc and
 * removal of one pod between processes.
 */
export async function withPodLock<T>(native: NativeBinding, roots: StateRoots, pod: string, fn: () => Promise<T> | T): Promise<T> {
  const dir = path.join(roots.run, 'locks');
  mkdirSync(dir, { recursive: true });
  const fd = openSync(path.join(dir, `${pod}.lock`), 'a');
  try {
    native.flock(fd, true, true);
    return await fn();
  } finally {
    closeSync(fd); // releases the lock
  }
}
