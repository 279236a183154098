// Undoing a pod's network from its host.json record (teardown, gc, a failed start), and
// reclaiming addresses whose pod is gone. Each step tolerates what is already gone: the
// record may describe a change that a crash kept from happening, and the pod's network
// namespace (with eth0) vanishes with its last process.

import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

import { readHost, type HostRecord } from '../state/host.ts';
import { podDirs, type StateRoots } from '../state/paths.ts';
import { netRootDir } from './config.ts';
import { listLeases, release } from './ipam.ts';
import { deleteLink } from './ip.ts';
import { deletePortElements } from './nft.ts';
import { describePort } from './ports.ts';
import { netRecord } from './record.ts';

export async function undoNetwork(rec: HostRecord, report: string[]): Promise<void> {
  const n = netRecord(rec);
  if (!n || n.mode !== 'bridge') return;
  if (n.dnat && n.table && n.hostPorts?.length) {
    for (const p of await deletePortElements(n.table, n.hostPorts)) report.push(`removed ${describePort(p)} DNAT`);
  }
  if (n.veth && (await deleteLink(n.veth))) report.push(`removed veth ${n.veth}`);
  // The lease: the recorded file, or (a crash before it was recorded) any file naming us.
  const files = n.lease ? [n.lease] : n.netDir ? listLeases(n.netDir).filter((l) => l.uid === rec.uid).map((l) => l.file) : [];
  for (const f of files) if (release(f, rec.uid)) report.push(`released address ${path.basename(f)}`);
  if (n.netDir && n.bridge) forgetBridgeDir(n.netDir, n.bridge, report);
}

/**
 * The state directory of a bridge that does not exist (as a bridge) and holds no address:
 * left by a start that was refused before the bridge was made (say --bridge named a veth).
 * A bridge minipod made keeps its directory until `minipod network rm`.
 */
function forgetBridgeDir(dir: string, bridge: string, report: string[]): void {
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
