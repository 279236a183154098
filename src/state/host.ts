// The host record of a pod, in its one state file (state.json): what minipod did on the
// host for the pod, written BEFORE each change is made, so that teardown and `gc` undo
// exactly that, even after a crash half-way through.
//
// state.json has one writer at a time. TypeScript writes it while it prepares the pod (the
// "host" section and the journal); from the moment the supervisor starts, the supervisor is
// its only writer (native/shim/state.c): it keeps "host" as it found it and adds the pod's
// status, its own pid and pause's, and its own journal entries. Once the supervisor is
// gone, TypeScript writes only "lost", and the native unwinder the journal and "torndown".
//
//   { "version": 2, "host": {pod, uid, dirs, network, ...}, "journal": [...inverse ops],
//     "supervisor": {pid, start}, "pause": {pid, start, ipcNs, ipcPin}, "torndown": bool,
//     "lost": bool, "phase": ..., "containers": [...] }

import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

import type { NativeBinding } from '../native/binding.ts';
import { readJson, writeJsonAtomic } from './files.ts';
import type { PodDirs, StateRoots } from './paths.ts';
import type { ProcRef } from './proc.ts';

/** state.json's format; the supervisor refuses another (native/shim/shim.h MP_STATE_VERSION). */
export const STATE_VERSION = 2;

/**
 * The inverse of one host change, journaled before the change is made (native/shim/journal.c
 * decodes it; unwind.c undoes the list last entry first, each step tolerating a change that
 * never happened).
 */
export type JournalOp =
  | { op: 'umount'; path: string }
  | { op: 'lease'; file: string; uid: string }
  | { op: 'link'; name: string }
  | { op: 'nft'; what: string; script: string };

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
  /** Written by the supervisor itself. */
  supervisor?: ProcRef;
  /**
   * pause (written by the supervisor), and its IPC namespace's inode. ipcPin is a bind
   * mount of that namespace (nsfs) in the pod's run directory: while it is mounted the
   * namespace exists, so its inode cannot be reused by another one, and the unwind can trust
   * it to find the pod's processes even after pause died.
   */
  pause?: ProcRef & { ipcNs?: number; ipcPin?: string };
  /** Where the pod's cgroups are (`top` and `inspect` read them without the plan). */
  cgroups?: { version: 1 | 2; path: string; containers: string[] };
  /** hostUsers: false: the host ids the pod's 0..size-1 are (src/state/userns-ids.ts). */
  userNamespace?: { hostID: number; size: number };
  /** The pod's address (the host's with hostNetwork), once allocated. */
  podIP?: string;
  /** The inverse of every host change made so far, in order. */
  journal: JournalOp[];
  /** Host network changes (bridge port, addresses, firewall rules), owned by src/net. */
  network?: Record<string, unknown>;
  /** Set once the host side has been undone; the directories stay for `ps -a` and `logs`. */
  torndown?: boolean;
  /** Its supervisor died without finishing (killed); found and cleaned up later. */
  lost?: boolean;
}

export function stateFileOf(dirs: PodDirs): string {
  return path.join(dirs.run, 'state.json');
}

/** Keys of HostRecord that live at the top of state.json rather than in "host". */
const TOP = ['journal', 'supervisor', 'pause', 'torndown', 'lost'] as const;

type StateFile = Record<string, unknown> & { version?: number; host?: Record<string, unknown> };

export function readHost(dirs: PodDirs): HostRecord | undefined {
  const f = readJson<StateFile>(stateFileOf(dirs));
  if (!f?.host) return undefined;
  const rec = { ...f.host, journal: (f.journal as JournalOp[] | undefined) ?? [] } as unknown as HostRecord;
  for (const k of TOP.slice(1)) if (f[k] !== undefined && f[k] !== null) (rec as unknown as Record<string, unknown>)[k] = f[k];
  return rec;
}

/**
 * Writes the record into state.json, keeping whatever else is there. Only while no
 * supervisor runs for the pod (before it starts, or after it is gone): then the file is
 * the supervisor's alone.
 */
export function writeHost(rec: HostRecord): void {
  const file = stateFileOf(rec.dirs);
  const f: StateFile = readJson<StateFile>(file) ?? {};
  const host: Record<string, unknown> = { ...rec };
  for (const k of TOP) delete host[k];
  f.version = STATE_VERSION;
  f.host = host;
  f.journal = rec.journal;
  if (rec.lost) f.lost = true;
  if (rec.torndown) f.torndown = true;
  writeJsonAtomic(file, f, 0o600);
}

/** Applies a change to the record and writes it before the caller acts on it. */
export function recordHost(rec: HostRecord, change: (r: HostRecord) => void): void {
  change(rec);
  writeHost(rec);
}

/** Journals the inverse of a host change the caller is about to make. */
export function journal(rec: HostRecord, op: JournalOp): void {
  recordHost(rec, (r) => r.journal.push(op));
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
