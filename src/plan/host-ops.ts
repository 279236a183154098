// Host operations: the pod's network wiring and firewall as plan data, from one generator.
//
// TypeScript decides what (names, the address from IPAM, the gateway); the supervisor
// walks the list right after pause has started (native/net/hostops.c): links, addresses
// and routes over rtnetlink, "host" ops in its own network namespace and "pod" ops in
// pause's, entered by pidfd; the firewall as one `nft -f -` transaction. It journals the
// inverse of each op before running it, and unwinds that journal when the pod ends.
// `minipod plan` prints this same list, so what is printed is what runs. The native
// decoder refuses an unknown op or field before it runs any.

import type { NetConfig } from '../net/config.ts';

export type HostOp =
  /** A veth pair: `name` on the host, `peer` created directly in pause's network namespace. */
  | { op: 'veth'; name: string; peer: string; peerNetns: 'pod' }
  /** Sets a link's master and/or state. */
  | { op: 'link'; netns: 'host' | 'pod'; name: string; master?: string; up?: boolean }
  | { op: 'addr'; netns: 'host' | 'pod'; dev: string; address: string; prefix: number }
  /** The default route via the gateway. */
  | { op: 'route'; netns: 'pod'; dev: string; gateway: string }
  /**
   * One `nft -f -` transaction (all of it applies, or none). `undo` is journaled before it
   * runs and applied when the pod is undone ("" when there is nothing to take back).
   */
  | { op: 'nft'; what: string; script: string; undo: string }
  /**
   * Forget the host's conntrack entries of a UDP hostPort (ctnetlink, as `conntrack -D -p udp
   * --dport N`): a datagram sent before the port was published would keep its flow away from the pod.
   */
  | { op: 'conntrack'; protocol: 'udp'; port: number }
  /** /proc/sys/KEY written from inside the pod's network or IPC namespace (src/plan/sysctls.ts). */
  | { op: 'sysctl'; ns: 'net' | 'ipc'; key: string; value: string };

/** The pod's interface inside its network namespace. */
export const POD_IFNAME = 'eth0';

/** Wires a pod to its bridge: the veth pair, then eth0's address, state and default route (lo is pause's). */
export function podNetworkOps(cfg: Pick<NetConfig, 'bridge' | 'gateway' | 'subnet'>, veth: string, podIP: string): HostOp[] {
  return [
    { op: 'veth', name: veth, peer: POD_IFNAME, peerNetns: 'pod' },
    { op: 'link', netns: 'host', name: veth, master: cfg.bridge },
    { op: 'link', netns: 'host', name: veth, up: true },
    { op: 'addr', netns: 'pod', dev: POD_IFNAME, address: podIP, prefix: cfg.subnet.prefix },
    { op: 'link', netns: 'pod', name: POD_IFNAME, up: true },
    { op: 'route', netns: 'pod', dev: POD_IFNAME, gateway: cfg.gateway },
  ];
}

/** One line per op, as `minipod plan` prints them. */
export function describeHostOp(o: HostOp): string {
  switch (o.op) {
    case 'veth':
      return `veth ${o.name} <-> ${o.peer} (created in the pod's network namespace)`;
    case 'link':
      return `[${o.netns}] link ${o.name}${o.master ? ` master ${o.master}` : ''}${o.up !== undefined ? (o.up ? ' up' : ' down') : ''}`;
    case 'addr':
      return `[${o.netns}] addr ${o.address}/${o.prefix} dev ${o.dev}`;
    case 'route':
      return `[${o.netns}] route default via ${o.gateway} dev ${o.dev}`;
    case 'conntrack':
      return `[host] conntrack: forget udp entries to port ${o.port}`;
    case 'sysctl':
      return `[pod ${o.ns}] sysctl ${o.key.replace(/\//g, '.')}=${o.value}`;
    case 'nft':
      return [`nft -f - (${o.what}), one transaction:`, ...o.script.trimEnd().split('\n').map((l) => `    ${l}`), ...(o.undo ? ['  undone with:', ...o.undo.trimEnd().split('\n').map((l) => `    ${l}`)] : [])].join('\n  ');
  }
}
