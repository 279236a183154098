// The bridge: made once and shared by every pod on it, over rtnetlink through the addon
// (no `ip` process; nothing enters a namespace). A pod's own veth pair is a host operation
// of its plan (src/plan/host-ops.ts), run by the supervisor. The steps are data, so
// `minipod plan` prints exactly what runs when the bridge is missing.

import { existsSync, readFileSync } from 'node:fs';

import { MinipodError } from '../errors.ts';
import type { NativeBinding } from '../native/binding.ts';
import { loadNative } from '../native/load.ts';
import { parseIPv4 } from './cidr.ts';
import type { NetConfig } from './config.ts';

/**
 * A fixed MAC for the bridge (locally administered, from the gateway address, as CNI's
 * 0a:58 prefix): a bridge left to pick its own takes the lowest MAC of its ports and
 * changes it as pods come and go, which breaks the pods' ARP entries for the gateway.
 */
export function bridgeMac(gateway: string): string {
  const n = parseIPv4(gateway) ?? 0;
  return ['0a', '58', n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0'))).join(':');
}

/**
 * The bridge's alias names the state root whose leases hand out its addresses: two roots
 * (two MINIPOD_ROOTs) allocating on one bridge would give pods the same address.
 */
export function ownerAlias(runRoot: string): string {
  return `minipod:${runRoot}`;
}

export type BridgeStep =
  | { step: 'create'; name: string; mac: string }
  | { step: 'alias'; name: string; alias: string }
  | { step: 'addr'; name: string; address: string; prefix: number }
  | { step: 'up'; name: string };

/** Creating the bridge: the link with its MAC, the owner alias, the gateway address, up. */
export function bridgeSteps(cfg: Pick<NetConfig, 'bridge' | 'gateway' | 'subnet'>, owner = ownerAlias('<run-root>')): BridgeStep[] {
  if (/[\n\0]/.test(owner) || Buffer.byteLength(owner) > 255) throw new MinipodError(`state directory ${JSON.stringify(owner)} cannot be a bridge alias`);
  return [
    { step: 'create', name: cfg.bridge, mac: bridgeMac(cfg.gateway) },
    { step: 'alias', name: cfg.bridge, alias: owner },
    { step: 'addr', name: cfg.bridge, address: cfg.gateway, prefix: cfg.subnet.prefix },
    { step: 'up', name: cfg.bridge },
  ];
}

export function describeBridgeStep(s: BridgeStep): string {
  switch (s.step) {
    case 'create':
      return `link add ${s.name} type bridge address ${s.mac}`;
    case 'alias':
      return `link ${s.name} alias ${JSON.stringify(s.alias)}`;
    case 'addr':
      return `addr ${s.address}/${s.prefix} brd + dev ${s.name}`;
    case 'up':
      return `link ${s.name} up`;
  }
}

export function runBridgeSteps(what: string, steps: BridgeStep[], native: NativeBinding = loadNative()): void {
  for (const s of steps) {
    try {
      if (s.step === 'create') native.linkAddBridge(s.name, s.mac);
      else if (s.step === 'alias') native.linkSet(s.name, s.alias, null);
      else if (s.step === 'addr') native.addrAdd(s.name, s.address, s.prefix, true);
      else native.linkSet(s.name, null, true);
    } catch (e) {
      throw new MinipodError(`${what}: ${describeBridgeStep(s)}: ${(e as Error).message}`, { code: 'ERR_MINIPOD_NET' });
    }
  }
}

export interface LinkInfo {
  name: string;
  kind?: string;
  up: boolean;
  alias?: string;
  /** IPv4 addresses as "a.b.c.d/prefix". */
  addrs: string[];
}

/**
 * An interface of this network namespace; undefined when there is none. Addresses over
 * rtnetlink (always this namespace, down links too) with the kind; flags and alias from sysfs. A
 * sysfs that disagrees belongs to another namespace: that is an error here (mount a sysfs
 * of this network namespace), never a guess.
 */
export async function linkInfo(name: string): Promise<LinkInfo | undefined> {
  const sys = `/sys/class/net/${name}`;
  let addrs: string[];
  try {
    addrs = loadNative().linkAddrs(name);
  } catch (e) {
    if ((e as { errno?: number }).errno === 19) {
      // ENODEV: none here. A sysfs that shows one belongs to another network namespace.
      if (existsSync(sys)) throw new MinipodError(`/sys/class/net shows "${name}" but this network namespace has no such interface: /sys is of another network namespace`, { code: 'ERR_MINIPOD_NET' });
      return undefined;
    }
    throw new MinipodError(`looking up interface "${name}": ${(e as Error).message}`, { code: 'ERR_MINIPOD_NET' });
  }
  if (!existsSync(sys)) throw new MinipodError(`interface "${name}" exists but /sys/class/net does not show it: /sys is of another network namespace`, { code: 'ERR_MINIPOD_NET' });
  const read = (f: string) => {
    try {
      return readFileSync(`${sys}/${f}`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const kind = loadNative().linkKind(name) || undefined;
  return { name, kind, up: (parseInt(read('flags'), 16) & 1) === 1, alias: read('ifalias') || undefined, addrs };
}

/**
 * Deletes an interface over rtnetlink (the addon; no process); false when it was already
 * gone — e.g. with its namespace: the kernel removes a veth pair when either end's
 * namespace goes.
 */
export async function deleteLink(name: string): Promise<boolean> {
  try {
    return loadNative().linkDel(name);
  } catch (e) {
    throw new MinipodError(`removing interface "${name}": ${(e as Error).message}`, { code: 'ERR_MINIPOD_NET' });
  }
}
