// Which bridge and subnet a pod uses: the caller's choice (the CLI's --bridge, --subnet and
// --no-masquerade, the API's RunPodOptions), else MINIPOD_BRIDGE / MINIPOD_SUBNET /
// MINIPOD_NO_MASQUERADE, else the defaults; and the names derived from them.

import { createHash } from 'node:crypto';
import path from 'node:path';

import { MinipodError } from '../errors.ts';
import type { StateRoots } from '../state/paths.ts';
import { formatIPv4, gatewayOf, parseSubnet, type Subnet } from './cidr.ts';

export const DEFAULT_BRIDGE = 'minipod0';
/** Clear of podman's defaults (10.88.0.0/16, 10.89.0.0/24) and docker's 172.17.0.0/16. */
export const DEFAULT_SUBNET = '10.90.0.0/16';

export interface NetConfig {
  bridge: string;
  subnet: Subnet;
  /** The bridge's address and the pods' default route. */
  gateway: string;
  /** Masquerade traffic from pods leaving the subnet (MINIPOD_NO_MASQUERADE=1 turns it off). */
  masquerade: boolean;
  /** minipod's nftables table for this bridge (one table per bridge: `network rm` drops it whole). */
  table: string;
}

/** Linux interface names: at most 15 bytes; nft and ip need no quoting with this set. */
export function checkIfName(name: string, what: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(name)) {
    throw new MinipodError(`${what} "${name}" is not a usable interface name: 1 to 15 characters of letters, digits, "_", "." or "-", starting with a letter or digit`, {
      code: 'ERR_MINIPOD_BRIDGE',
    });
  }
  return name;
}

export function tableName(bridge: string): string {
  return `minipod-${bridge}`;
}

/** What a caller chooses for a pod's network (CLI flags, RunPodOptions); unset: the environment's, else the default. */
export interface NetOptions {
  bridge?: string;
  subnet?: string;
  masquerade?: boolean;
}

export function netConfig(env: NodeJS.ProcessEnv = process.env, opts: NetOptions = {}): NetConfig {
  const bridge = checkIfName(opts.bridge ?? (env.MINIPOD_BRIDGE || DEFAULT_BRIDGE), 'bridge name (MINIPOD_BRIDGE / --bridge)');
  const subnet = parseSubnet(opts.subnet ?? (env.MINIPOD_SUBNET || DEFAULT_SUBNET), 'subnet (MINIPOD_SUBNET / --subnet)');
  const noMasq = env.MINIPOD_NO_MASQUERADE;
  return {
    bridge,
    subnet,
    gateway: formatIPv4(gatewayOf(subnet)),
    masquerade: opts.masquerade ?? !(noMasq && noMasq !== '0' && noMasq !== 'false'),
    table: tableName(bridge),
  };
}

/** Host end of a pod's veth pair: stable per pod uid, 15 bytes at most. */
export function vethName(uid: string): string {
  return `mp${createHash('sha256').update(uid).digest('hex').slice(0, 10)}`;
}

/** Address leases and the lock of one bridge: runtime state, gone with a reboot like the bridge. */
export function netDir(roots: StateRoots, bridge: string): string {
  return path.join(roots.run, 'net', bridge);
}

export function netRootDir(roots: StateRoots): string {
  return path.join(roots.run, 'net');
}
