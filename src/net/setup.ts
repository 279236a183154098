// Wiring a pod to the host network, in the order start.ts calls the hook:
//
//   prepare     (lock) claim hostPorts, allocate the address   -> the lease journaled first
//               write /etc/hosts, resolv.conf, hostname        (in the pod's run directory)
//               (lock) the bridge, if missing; sysctls
//   (the supervisor, once pause runs: the plan's host operations, each journaled first —
//    the veth pair with eth0 in pause's namespace, master, up, address, default route over
//    netlink; the nft rules and the pod's port elements in one `nft -f -` transaction)
//   (and the stale UDP conntrack entries of its ports, over ctnetlink)
//
// Every host change is journaled in state.json before it is made; the supervisor (or, if
// it died, the native unwinder) undoes the journal when the pod goes.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { MinipodError } from '../errors.ts';
import { podHostname } from '../plan/pod.ts';
import type { HookContext, NetworkFacts } from '../runtime/phases.ts';
import { journal, recordHost, type HostRecord } from '../state/host.ts';
import { netConfig, netDir, netRootDir, vethName, type NetConfig } from './config.ts';
import { writeEtcFiles } from './etc-files.ts';
import { formatIPv4, overlaps } from './cidr.ts';
import { hostAddress, networkRoutes } from './host-address.ts';
import { allocate, listLeases } from './ipam.ts';
import { bridgeSteps, linkInfo, ownerAlias, runBridgeSteps } from './ip.ts';
import { withLock } from './lock.ts';
import { checkHostPorts, hostPorts } from './ports.ts';
import type { NetRecord } from './record.ts';

function setNet(host: HostRecord, change: (n: NetRecord) => void): void {
  recordHost(host, (r) => change(r.network as unknown as NetRecord));
}

export async function prepareNetwork(ctx: HookContext, host: HostRecord): Promise<NetworkFacts> {
  const { pod, roots, uid } = ctx;
  const name = pod.metadata.name;
  const ports = hostPorts(pod);
  if (pod.spec.hostNetwork === true) {
    recordHost(host, (r) => (r.network = { mode: 'host' } satisfies NetRecord as unknown as Record<string, unknown>));
    // One lock for all bridges: a host port is host-wide, whatever bridge a pod is on.
    await withLock(ctx.native, netRootDir(roots), async () => {
      await checkHostPorts(roots, name, uid, ports);
      setNet(host, (n) => (n.hostPorts = ports));
    });
    const ip = hostAddress() ?? '127.0.0.1';
    writeEtcFiles(ctx.dirs.run, pod, { podIP: ip, hostname: os.hostname(), hostNetwork: true });
    return { podIP: ip, hostIP: ip };
  }
  const cfg = netConfig(process.env, ctx.network);
  const dir = netDir(roots, cfg.bridge);
  recordHost(host, (r) => {
    const n: NetRecord = { mode: 'bridge', bridge: cfg.bridge, subnet: cfg.subnet.text, gateway: cfg.gateway, table: cfg.table, netDir: dir };
    r.network = n as unknown as Record<string, unknown>;
  });
  await withLock(ctx.native, netRootDir(roots), async () => {
    await checkHostPorts(roots, name, uid, ports);
    setNet(host, (n) => (n.hostPorts = ports));
    // The lease file is made and named in one step, and names its owner: should we die
    // before journaling it, gc finds it by that owner.
    const lease = allocate(dir, cfg.bridge, cfg.subnet, { pod: name, uid });
    setNet(host, (n) => Object.assign(n, { ip: lease.ip, lease: lease.file }));
    journal(host, { op: 'lease', file: lease.file, uid });
  });
  const ip = (host.network as unknown as NetRecord).ip!;
  // The bridge before the supervisor starts: its host operations put the veth on it (and
  // journal it before they create it).
  await withLock(ctx.native, netRootDir(roots), () => ensureBridge(cfg, roots.run));
  setNet(host, (r) => (r.veth = vethName(uid)));
  writeEtcFiles(ctx.dirs.run, pod, { podIP: ip, hostname: podHostname(pod), hostNetwork: false });
  return { podIP: ip, gateway: cfg.gateway, hostIP: hostAddress([cfg.bridge]) ?? cfg.gateway };
}

function writeSysctl(key: string, value: string): void {
  const file = `/proc/sys/net/ipv4/${key}`;
  try {
    writeFileSync(file, value);
  } catch (e) {
    throw new MinipodError(`setting net.ipv4.${key.replace(/\//g, '.')}=${value}: ${(e as Error).message}`, { code: (e as NodeJS.ErrnoException).code });
  }
}

/** The state root that owns a bridge, from its alias; undefined when none says. */
export function bridgeOwner(alias: string | undefined): string | undefined {
  return alias?.startsWith('minipod:') ? alias.slice('minipod:'.length) : undefined;
}

/** A subnet that another interface already routes would make both unreachable in part. */
export function checkRoutes(cfg: NetConfig, routes = networkRoutes()): void {
  for (const r of routes) {
    if (r.iface === cfg.bridge) continue;
    let prefix = 0;
    for (let m = r.mask; m; m = (m << 1) >>> 0) prefix++; // masks are contiguous ones
    const net = { base: (r.dest & r.mask) >>> 0, prefix, text: '' };
    if (overlaps(net, cfg.subnet)) {
      throw new MinipodError(
        `subnet ${cfg.subnet.text} overlaps ${formatIPv4(net.base)}/${net.prefix}, routed on interface "${r.iface}": choose another subnet with --subnet or MINIPOD_SUBNET`,
        { code: 'ERR_MINIPOD_SUBNET' },
      );
    }
  }
}

/**
 * A bridge is handed out by one state root at a time: refuses one whose owner (another
 * MINIPOD_ROOT) still has addresses leased on it, takes over one whose owner has none.
 */
export function checkOwner(bridge: string, alias: string | undefined, runRoot: string): boolean {
  const owner = bridgeOwner(alias);
  if (owner === undefined || owner === runRoot) return owner === runRoot;
  const users = listLeases(path.join(owner, 'net', bridge));
  if (users.length) {
    throw new MinipodError(
      `bridge "${bridge}" is in use by ${users.length} pod(s) of another minipod state root (${owner}): give this root its own bridge and subnet (--bridge, --subnet)`,
      { code: 'ERR_MINIPOD_BRIDGE' },
    );
  }
  return false;
}

/**
 * Creates the bridge with its gateway address when missing; refuses an interface of that
 * name that is not a bridge, or a bridge that carries another network or belongs to
 * another state root. The bridge is shared by every pod on it and stays when they go
 * (`minipod network rm` removes it).
 */
export async function ensureBridge(cfg: NetConfig, runRoot: string): Promise<'created' | 'present'> {
  const want = `${cfg.gateway}/${cfg.subnet.prefix}`;
  const owner = ownerAlias(runRoot);
  if (bridgeReady(cfg.bridge, want, owner)) {
    writeSysctl('ip_forward', '1');
    writeSysctl(`conf/${cfg.bridge}/route_localnet`, '1');
    return 'present';
  }
  const l = await linkInfo(cfg.bridge);
  let made: 'created' | 'present' = 'present';
  const steps = bridgeSteps(cfg, owner);
  if (!l) {
    checkRoutes(cfg);
    runBridgeSteps(`creating bridge "${cfg.bridge}"`, steps);
    made = 'created';
  } else {
    if (l.kind !== 'bridge') {
      throw new MinipodError(
        `interface "${cfg.bridge}" exists but is not a bridge (it is a ${l.kind ?? 'plain'} interface): choose another bridge name with --bridge or MINIPOD_BRIDGE`,
        { code: 'ERR_MINIPOD_BRIDGE' },
      );
    }
    const others = l.addrs.filter((a) => a !== want);
    if (others.length && !l.addrs.includes(want)) {
      throw new MinipodError(
        `bridge "${cfg.bridge}" has address ${others.join(', ')}, not the gateway ${want} of subnet ${cfg.subnet.text}: pass its subnet with --subnet, or choose another bridge name`,
        { code: 'ERR_MINIPOD_BRIDGE' },
      );
    }
    const ours = checkOwner(cfg.bridge, l.alias, runRoot);
    // Half made (a crash between the steps), or taken over: finish it.
    const [, setAlias, addAddr, setUp] = steps;
    const fix = [...(ours ? [] : [setAlias]), ...(l.addrs.includes(want) ? [] : [addAddr]), ...(l.up ? [] : [setUp])];
    if (fix.length) runBridgeSteps(`configuring bridge "${cfg.bridge}"`, fix);
  }
  // Pods reach beyond the host (egress), and 127.0.0.1:hostPort DNATed to a pod leaves
  // through the bridge with a loopback source, which the kernel drops unless route_localnet.
  writeSysctl('ip_forward', '1');
  writeSysctl(`conf/${cfg.bridge}/route_localnet`, '1');
  return made;
}

/**
 * The common case, answered at once: the bridge is up, ours, and carries the gateway. The
 * address comes from getifaddrs (this process's network namespace); kind, flags and alias
 * from sysfs, which must agree. Anything else goes through linkInfo and the bridge steps.
 */
function bridgeReady(bridge: string, want: string, owner: string): boolean {
  const sys = `/sys/class/net/${bridge}`;
  try {
    if (!existsSync(`${sys}/bridge`)) return false;
    if ((parseInt(readFileSync(`${sys}/flags`, 'utf8'), 16) & 1) === 0) return false; // IFF_UP
    if (readFileSync(`${sys}/ifalias`, 'utf8').trim() !== owner) return false;
  } catch {
    return false;
  }
  return (os.networkInterfaces()[bridge] ?? []).some((a) => a.family === 'IPv4' && a.cidr === want);
}
