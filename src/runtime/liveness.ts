// Whether a pod's supervisor lives, from state.json and /proc alone (no addon, no teardown
// code: `ps` and `logs` load only this).

import { statSync } from 'node:fs';

import type { HostRecord } from '../state/host.ts';
import type { PodDirs } from '../state/paths.ts';
import { isAlive } from '../state/proc.ts';

/** A pod directory being created right now has no state.json yet; give its creator time. */
const CREATING_GRACE_MS = 60_000;

export type PodLiveness = 'running' | 'ended' | 'stale' | 'creating';

export function podLiveness(rec: HostRecord | undefined, dirs: PodDirs): PodLiveness {
  if (!rec) {
    try {
      return Date.now() - statSync(dirs.run).mtimeMs < CREATING_GRACE_MS ? 'creating' : 'stale';
    } catch {
      return 'stale';
    }
  }
  if (isAlive(rec.supervisor)) return 'running';
  if (!rec.supervisor && isAlive(rec.creator)) return 'creating';
  if (rec.torndown) return 'ended';
  return 'stale';
}

