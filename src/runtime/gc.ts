// minipod gc: find what pods left behind when their supervisor died, and remove it.
//
// A pod is left behind when its supervisor is gone and its host side was never undone
// (supervisor killed, host crash). gc removes all of it: processes (everything in the
// pod's IPC namespace), mounts, the network, layers, state. It also removes half-created pod
// directories and stray lib directories, and reclaims the address and user-id leases of dead pods.

import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import type { NativeBinding } from '../native/binding.ts';
import { podsLibDir, podsRunDir, type StateRoots } from '../state/paths.ts';
import { reclaimLeases } from '../net/undo.ts';
import { reclaimIdLeases } from '../state/userns-ids.ts';
import { podInfo, podNames } from './pods.ts';
import { mountsUnder, teardownPod } from './teardown.ts';

export interface GcOptions {
  /** Also remove pods that ended normally (their state is otherwise kept for ps -a). */
  all?: boolean;
}

export async function gc(native: NativeBinding, roots: StateRoots, o: GcOptions = {}): Promise<string[]> {
  const report: string[] = [];
  for (const name of podNames(roots)) {
    const info = podInfo(roots, name);
    const gone = info.liveness === 'stale' || (info.liveness === 'ended' && (o.all || info.host?.lost));
    if (!gone) continue;
    const lines = await teardownPod(native, roots, name);
    report.push(`pod ${name}: ${info.liveness === 'stale' ? 'supervisor gone' : 'ended'}; ${lines.join('; ') || 'nothing left'}`);
  }
  // Layers or volumes of a pod that has no run directory (e.g. after a reboot cleared /run).
  const lib = podsLibDir(roots);
  const live = new Set(podNames(roots));
  for (const name of existsSync(lib) ? readdirSync(lib) : []) {
    if (live.has(name)) continue;
    const dir = path.join(lib, name);
    if (mountsUnder(dir).length) {
      report.push(`left ${dir}: still mounted`);
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
    report.push(`removed stray ${dir}`);
  }
  const alive = (pod: string) => existsSync(path.join(podsRunDir(roots), pod)) && podInfo(roots, pod).liveness !== 'stale';
  await reclaimLeases(roots, alive, report); // address leases of pods that are gone
  reclaimIdLeases(roots, (pod, uid) => alive(pod) && podInfo(roots, pod).host?.uid === uid, report); // and their user ids
  const locks = path.join(roots.run, 'locks');
  for (const f of existsSync(locks) ? readdirSync(locks) : []) {
    if (!alive(f.replace(/\.lock$/, ''))) rmSync(path.join(locks, f), { force: true });
  }
  return report;
}
