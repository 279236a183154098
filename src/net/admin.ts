// `minipod network ls` and `network rm`: what each bridge holds, and removing a bridge
// (with its firewall table and state) once no pod uses it.

import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

import { EXIT, MinipodError } from '../errors.ts';
import { podInfo } from '../runtime/pods.ts';
import type { StateRoots } from '../state/paths.ts';
import { podDirs } from '../state/paths.ts';
import { readHost } from '../state/host.ts';
import { formatIPv4, gatewayOf, parseSubnet } from './cidr.ts';
import { checkIfName, netConfig, netDir, netRootDir, tableName } from './config.ts';
import { listLeases, recordedSubnet } from './ipam.ts';
import { deleteLink, linkInfo } from './ip.ts';
import { withLock, type Flock } from './lock.ts';
import { deleteTable, tableExists } from './nft.ts';
import { describePort, type HostPort } from './ports.ts';
import { netRecord } from './record.ts';
import { checkOwner } from './setup.ts';
import { reclaimLeases } from './undo.ts';

export interface Allocation {
  ip: string;
  pod: string;
  uid: string;
  hostPorts: HostPort[];
}

export interface BridgeView {
  bridge: string;
  subnet?: string;
  gateway?: string;
  /** The interface exists (and is a bridge). */
  exists: boolean;
  up: boolean;
  /** minipod's firewall table of the bridge exists (undefined when it could not be checked). */
  firewall?: boolean;
  allocations: Allocation[];
}

/** Bridges with state under the root, plus the configured one. */
export function knownBridges(roots: StateRoots): string[] {
  const root = netRootDir(roots);
  const names = new Set<string>();
  if (existsSync(root)) for (const e of readdirSync(root)) if (statSync(path.join(root, e)).isDirectory()) names.add(e);
  try {
    names.add(netConfig().bridge);
  } catch {
    // a bad MINIPOD_BRIDGE: list what exists
  }
  return [...names].sort();
}

export async function describeBridge(roots: StateRoots, bridge: string, checkFirewall: boolean): Promise<BridgeView> {
  const dir = netDir(roots, bridge);
  const link = await linkInfo(bridge);
  let subnet = recordedSubnet(dir);
  if (!subnet) {
    try {
      const cfg = netConfig();
      if (cfg.bridge === bridge) subnet = cfg.subnet.text;
    } catch {
      // unknown
    }
  }
  const allocations = listLeases(dir).map((l) => {
    const rec = l.pod ? readHost(podDirs(roots, l.pod)) : undefined;
    const n = rec && rec.uid === l.uid ? netRecord(rec) : undefined;
    return { ip: l.ip, pod: l.pod, uid: l.uid, hostPorts: n?.hostPorts ?? [] };
  });
  return {
    bridge,
    subnet,
    gateway: subnet ? formatIPv4(gatewayOf(parseSubnet(subnet))) : undefined,
    exists: link?.kind === 'bridge',
    up: !!link?.up,
    firewall: checkFirewall ? await tableExists(tableName(bridge)) : undefined,
    allocations,
  };
}

export function formatPorts(ports: HostPort[]): string {
  return ports.map((p) => `${describePort(p).replace(/^hostPort /, '')}->${p.containerPort}`).join(',');
}

/** A pod counts as alive as gc sees it: its run directory exists and its supervisor lives (or it is being created). */
export function podAlive(roots: StateRoots): (pod: string) => boolean {
  return (pod) => existsSync(podDirs(roots, pod).run) && podInfo(roots, pod).liveness !== 'stale';
}

/**
 * Removes a bridge, minipod's firewall table for it and its state, when no live pod has
 * an address on it (addresses of dead pods are reclaimed first). Refuses an interface of
 * that name that is not a bridge: minipod did not make it.
 */
export async function removeBridge(native: Flock, roots: StateRoots, bridge: string): Promise<string[]> {
  checkIfName(bridge, 'bridge name');
  const report: string[] = [];
  await withLock(native, netRootDir(roots), async () => {
    const dir = netDir(roots, bridge);
    const alive = podAlive(roots);
    await reclaimLeases(roots, alive, report);
    const users = listLeases(dir);
    if (users.length) {
      const pods = users.map((l) => `${l.pod || '?'} (${l.ip})`).join(', ');
      throw new MinipodError(`bridge "${bridge}" is in use by ${users.length} pod(s): ${pods}; remove them first`, { code: 'EBUSY', exitCode: EXIT.inUse });
    }
    const link = await linkInfo(bridge);
    if (link && link.kind !== 'bridge') throw new MinipodError(`interface "${bridge}" is not a bridge (${link.kind ?? 'plain'}); minipod leaves it alone`, { code: 'ERR_MINIPOD_BRIDGE' });
    if (link) checkOwner(bridge, link.alias, roots.run); // another root's pods still on it: refused
    if (await deleteTable(tableName(bridge))) report.push(`removed firewall table ip ${tableName(bridge)}`);
    if (link && (await deleteLink(bridge))) report.push(`removed bridge ${bridge}`);
    if (existsSync(dir)) {
      rmSync(dir, { recursive: true, force: true });
      report.push(`removed ${dir}`);
    }
  });
  return report;
}
