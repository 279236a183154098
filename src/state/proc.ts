// Facts about host processes, read from /proc. A pid alone can be reused; a pid plus its
// start time (field 22 of /proc/PID/stat, in clock ticks since boot) names one process.

import { fstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';

export interface ProcRef {
  pid: number;
  start: number;
}

/** Start time of pid, or undefined when there is no such process. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    if (state === 'Z' || state === 'X') return undefined;
    return Number(rest[19]);
  } catch {
    return undefined;
  }
}

export function procRef(pid: number): ProcRef | undefined {
  const start = processStart(pid);
  return start === undefined ? undefined : { pid, start };
}

/** True when the very process named by ref still runs (not a later one with its pid). */
export function isAlive(ref: ProcRef | undefined | null): boolean {
  return !!ref && processStart(ref.pid) === ref.start;
}

/** The inode of a process's namespace, e.g. nsInode(pid, 'ipc') -> 4026532291. */
export function nsInode(pid: number | 'self', type: string): number | undefined {
  try {
    const m = readlinkSync(`/proc/${pid}/ns/${type}`).match(/\[(\d+)\]/);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Every process whose namespace of this type is the given inode. */
export function processesInNamespace(type: string, inode: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    if (nsInode(Number(d), type) === inode) out.push(Number(d));
  }
  return out;
}

/** The nsfs inode of an open namespace fd, or of a bind mount of one (stat follows it). */
export function nsInodeOf(pathOrFd: string | number): number | undefined {
  try {
    const st = typeof pathOrFd === 'number' ? fstatSync(pathOrFd) : statSync(pathOrFd);
    return st.ino;
  } catch {
    return undefined;
  }
}
