// Reclaiming addresses whose pod is gone (gc). A pod's own network (its veth, its port
// elements, its lease) is undone from its journal by the native unwinder; this finds what
// no journal names: a lease made by a process that died before journaling it.

import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import { readHost } from '../state/host.ts';
import { podDirs, type StateRoots } from '../state/paths.ts';
import { netRootDir } from './config.ts';
import { listLeases, release } from './ipam.ts';

/**
 * The state directory of a bridge that does not exist (as a bridge) and holds no address:
 * left by a start that was refused before the bridge was made (say --bridge named a veth).
 * A bridge minipod made keeps its directory until `minipod network rm`.
 */
export function forgetBridgeDir(dir: string, bridge: string, report: string[]): void {
  if (!existsSync(dir) || listLeases(dir).length || existsSync(`/sys/class/net/${bridge}/bridge`)) return;
  rmSync(dir, { recursive: true, force: true });
  report.push(`removed the state of bridge ${bridge} (no such bridge, no address)`);
}

/**
 * gc: addresses whose owner is not a live pod of that uid (its supervisor died and its
 * record went, or a crash came between allocating and recording).
 */
export async function reclaimLeases(roots: StateRoots, isPodAlive: (pod: string) => boolean, report: string[]): Promise<void> {
  const root = netRootDir(roots);
  if (!existsSync(root)) return;
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue; // the lock file
    const bridge = e.name;
    const dir = path.join(root, bridge);
    for (const l of listLeases(dir)) {
      const rec = l.pod ? readHost(podDirs(roots, l.pod)) : undefined;
      const owned = !!rec && rec.uid === l.uid && !rec.torndown && isPodAlive(l.pod);
      if (owned) continue;
      if (release(l.file, l.uid)) report.push(`released address ${l.ip} of bridge ${bridge} (pod ${l.pod || '?'} is gone)`);
    }
    forgetBridgeDir(dir, bridge, report);
  }
}
