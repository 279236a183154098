// iproute2 commands for the bridge and a pod's veth pair. Each namespace's commands go to
// one `ip -batch -` process (one process for a whole list instead of one per command);
// pause's network namespace has no name, so its batch runs under nsenter.
//
// The command lists are pure, so `minipod plan` shows exactly what would run.

import { MinipodError } from '../errors.ts';
import { parseIPv4 } from './cidr.ts';
import type { NetConfig } from './config.ts';
import { mustRun, runTool } from './exec.ts';

/** The pod's interface inside its network namespace. */
export const POD_IFNAME = 'eth0';

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

/** ip's batch parser splits on blanks and honours double quotes. */
function quoted(s: string): string {
  if (/["\\\n]/.test(s)) throw new MinipodError(`state directory ${JSON.stringify(s)} has a character minipod cannot pass to ip`);
  return `"${s}"`;
}

export function aliasCommand(bridge: string, alias: string): string {
  return `link set dev ${bridge} alias ${quoted(alias)}`;
}

export function bridgeCommands(cfg: NetConfig, owner = ownerAlias('<run-root>')): string[] {
  return [
    `link add name ${cfg.bridge} address ${bridgeMac(cfg.gateway)} type bridge`,
    aliasCommand(cfg.bridge, owner),
    `addr add ${cfg.gateway}/${cfg.subnet.prefix} brd + dev ${cfg.bridge}`,
    `link set dev ${cfg.bridge} up`,
  ];
}

/** The host side: the pair is created with its peer directly in pause's namespace as eth0. */
export function vethCommands(cfg: NetConfig, veth: string, pausePid: number | string): string[] {
  return [`link add name ${veth} type veth peer name ${POD_IFNAME} netns ${pausePid}`, `link set dev ${veth} master ${cfg.bridge}`, `link set dev ${veth} up`];
}

/** Inside pause's namespace (lo is already up: pause brings it up). */
export function podCommands(cfg: NetConfig, podIP: string): string[] {
  return [`addr add ${podIP}/${cfg.subnet.prefix} dev ${POD_IFNAME}`, `link set dev ${POD_IFNAME} up`, `route add default via ${cfg.gateway} dev ${POD_IFNAME}`];
}

export async function ipBatch(what: string, lines: string[], netnsPid?: number): Promise<void> {
  const input = lines.join('\n') + '\n';
  if (netnsPid === undefined) await mustRun(what, 'ip', ['-batch', '-'], input);
  else await mustRun(what, 'nsenter', [`--net=/proc/${netnsPid}/ns/net`, '--', 'ip', '-batch', '-'], input);
}

export interface LinkInfo {
  name: string;
  kind?: string;
  up: boolean;
  alias?: string;
  /** IPv4 addresses as "a.b.c.d/prefix". */
  addrs: string[];
}

/** What `ip -d addr show` says about an interface; undefined when there is none. */
export async function linkInfo(name: string): Promise<LinkInfo | undefined> {
  const r = await runTool('ip', ['-j', '-d', 'addr', 'show', 'dev', name]);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) return undefined;
    throw new MinipodError(`looking up interface "${name}": ${r.stderr.trim()}`, { code: 'ERR_MINIPOD_NET' });
  }
  const [l] = JSON.parse(r.stdout || '[]') as {
    ifname: string;
    flags?: string[];
    ifalias?: string;
    linkinfo?: { info_kind?: string };
    addr_info?: { family: string; local: string; prefixlen: number }[];
  }[];
  if (!l) return undefined;
  return {
    name: l.ifname,
    kind: l.linkinfo?.info_kind,
    up: (l.flags ?? []).includes('UP'),
    alias: l.ifalias || undefined,
    addrs: (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
  };
}

/** Deletes an interface; false when it was already gone (e.g. with its namespace). */
export async function deleteLink(name: string): Promise<boolean> {
  const r = await runTool('ip', ['link', 'del', 'dev', name]);
  if (r.code === 0) return true;
  // "No such device": the kernel removed it between our lookup and the delete (the pod's
  // namespace went away, taking the pair with it).
  if (/does not exist|Cannot find device|No such device/i.test(r.stderr)) return false;
  throw new MinipodError(`removing interface "${name}": ${r.stderr.trim()}`, { code: 'ERR_MINIPOD_NET' });
}
