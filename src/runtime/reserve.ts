// Claiming a pod name on the host. Names are unique: the pod's run directory is created
// with a plain mkdir, which is atomic, so two `minipod run` of one name cannot both win.
// A directory left by a pod whose processes are all gone (a crash) is cleaned up and the
// name reused; one that belongs to a live or completed pod is refused.

import { mkdirSync, rmSync } from 'node:fs';

import { MinipodError } from '../errors.ts';
import type { NativeBinding } from '../native/binding.ts';
import { secureRoots } from '../state/files.ts';
import { readHost, writeHost, type HostRecord } from '../state/host.ts';
import { podDirs, podsLibDir, podsRunDir, type StateRoots } from '../state/paths.ts';
import { procRef } from '../state/proc.ts';
import { podLiveness } from './liveness.ts';
import { teardownPod } from './teardown.ts';

export async function reservePod(
  native: NativeBinding,
  roots: StateRoots,
  rec: Omit<HostRecord, 'dirs' | 'journal' | 'creator'>,
): Promise<HostRecord> {
  const dirs = podDirs(roots, rec.pod);
  secureRoots(roots);
  mkdirSync(podsRunDir(roots), { recursive: true, mode: 0o700 });
  mkdirSync(podsLibDir(roots), { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(dirs.run, { mode: 0o700 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
    }
    const other = readHost(dirs);
    const state = podLiveness(other, dirs);
    if (state === 'running' || state === 'creating') {
      throw new MinipodError(`pod "${rec.pod}" already exists and is running; stop it with \`minipod rm ${rec.pod}\` or choose another metadata.name`, {
        code: 'EEXIST',
      });
    }
    if (state === 'ended') {
      throw new MinipodError(`pod "${rec.pod}" already exists (it has ended); remove it with \`minipod rm ${rec.pod}\``, { code: 'EEXIST' });
    }
    await teardownPod(native, roots, rec.pod); // stale: its owner died without cleaning up
  }
  // The run directory is ours; anything under lib with this name is a leftover.
  rmSync(dirs.lib, { recursive: true, force: true });
  mkdirSync(dirs.lib, { recursive: true, mode: 0o700 });
  const full: HostRecord = { ...rec, dirs, journal: [], creator: procRef(process.pid) };
  writeHost(full);
  return full;
}
