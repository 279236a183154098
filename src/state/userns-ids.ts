// Host ids for pods with a user namespace (hostUsers: false): each pod leases one block of
// 65536 consecutive host uids (and the same gids), never a block another pod holds, so the
// root of one pod is never the same host user as anything of another pod.
//
// The range to allocate from is the `minipod` entry of /etc/subuid and /etc/subgid when
// there is one (as the kubelet reads `kubelet`'s and podman's --userns=auto `containers`'),
// else host ids 2^31 .. 2^31 + 2^28 (4096 pods), above the ranges Debian's useradd gives
// users (100000 and up, 65536 each) and SSSD's default id map (up to 2000200000).
// The subgid range must be the same (uid N and gid N of a pod are one block).
//
// A lease is a file per block, <run>/userns/<first host id>, created with O_EXCL and naming
// its owner (as the address leases do: src/net/ipam.ts): two pods can never both claim a
// block, even without a lock. The lowest free block is taken. The lease is journaled in the
// pod's state and released by its unwind (native/shim/unwind.c) or by `gc`.

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import { MinipodError } from '../errors.ts';
import { USERNS_SIZE } from '../plan/userns.ts';
import { claimFile } from './files.ts';
import type { StateRoots } from './paths.ts';

export interface IdRange {
  start: number;
  count: number;
  from: string;
}

export const DEFAULT_ID_RANGE: IdRange = { start: 2 ** 31, count: 2 ** 28, from: 'the default range' };

function subidEntry(file: string, user: string): { start: number; count: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name !== user) continue;
    const s = Number(start), c = Number(count);
    if (!Number.isInteger(s) || !Number.isInteger(c) || s < 1 || c < 1 || s + c > 2 ** 32 - 1) {
      throw new MinipodError(`${file}: the entry of "${user}" must be ${user}:FIRST:COUNT with whole numbers inside 1..2^32-2`, { code: 'ERR_MINIPOD_USERNS' });
    }
    return { start: s, count: c };
  }
  return undefined;
}

/** The range pods' ids come from (etc is /etc; tests give another directory). */
export function idRange(etc = '/etc'): IdRange {
  const u = subidEntry(path.join(etc, 'subuid'), 'minipod');
  const g = subidEntry(path.join(etc, 'subgid'), 'minipod');
  if (!u && !g) return DEFAULT_ID_RANGE;
  if (!u || !g || u.start !== g.start || u.count !== g.count) {
    throw new MinipodError(`the "minipod" entries of ${etc}/subuid and ${etc}/subgid must both exist and be the same range`, { code: 'ERR_MINIPOD_USERNS' });
  }
  if (u.count < USERNS_SIZE) throw new MinipodError(`${etc}/subuid: the "minipod" range has ${u.count} ids; a pod needs ${USERNS_SIZE}`, { code: 'ERR_MINIPOD_USERNS' });
  return { ...u, from: `${etc}/subuid` };
}

export function leaseDir(roots: StateRoots): string {
  return path.join(roots.run, 'userns');
}

export interface IdLease {
  base: number;
  file: string;
  pod: string;
  uid: string;
}

export function listIdLeases(roots: StateRoots): IdLease[] {
  const dir = leaseDir(roots);
  if (!existsSync(dir)) return [];
  const out: IdLease[] = [];
  for (const name of readdirSync(dir)) {
    if (!/^[1-9][0-9]*$/.test(name)) continue;
    const file = path.join(dir, name);
    let owner = { pod: '', uid: '' };
    try {
      owner = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      // written half-way by a crashed allocator
    }
    out.push({ base: Number(name), file, pod: owner.pod ?? '', uid: owner.uid ?? '' });
  }
  return out.sort((a, b) => a.base - b.base);
}

/** The block a pod would get now (for `minipod plan`; nothing is claimed). */
export function peekIds(roots: StateRoots, range = idRange()): number {
  const taken = new Set(listIdLeases(roots).map((l) => l.base));
  for (let b = range.start; b + USERNS_SIZE <= range.start + range.count; b += USERNS_SIZE) if (!taken.has(b)) return b;
  return range.start;
}

/** Claims the lowest free block for a pod. */
export function allocateIds(roots: StateRoots, owner: { pod: string; uid: string }, range = idRange()): IdLease {
  const dir = leaseDir(roots);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const taken = new Set(listIdLeases(roots).map((l) => l.base));
  for (let b = range.start; b + USERNS_SIZE <= range.start + range.count; b += USERNS_SIZE) {
    if (taken.has(b)) continue;
    const file = path.join(dir, String(b));
    if (!claimFile(file, owner, 0o600)) continue;
    return { base: b, file, ...owner };
  }
  throw new MinipodError(`no free block of ${USERNS_SIZE} user ids is left in ${range.from} (${range.start}..${range.start + range.count - 1}): remove pods with hostUsers: false, or give minipod a larger range in /etc/subuid and /etc/subgid`, { code: 'ERR_MINIPOD_EXHAUSTED' });
}

/** gc: the leases of pods that are gone. */
export function reclaimIdLeases(roots: StateRoots, alive: (pod: string, uid: string) => boolean, report: string[]): void {
  for (const l of listIdLeases(roots)) {
    if (l.pod && alive(l.pod, l.uid)) continue;
    rmSync(l.file, { force: true });
    report.push(`released user ids ${l.base} (pod ${l.pod || '?'} is gone)`);
  }
}
