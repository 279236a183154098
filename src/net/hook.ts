// The pod network's part of planning (start.ts calls it, then setup.ts's prepareNetwork
// and the supervisor the host operations; gc reclaims leases with undo.ts).
//
//   contribute  (pure, also `minipod plan`) /etc files mounted into each container; the
//               pod's wiring and firewall as host operations (the supervisor runs them:
//               netlink, one `nft -f -`); the bridge's steps (when it is missing)
//   prepare     address (its lease journaled), host ports, /etc files, the bridge (setup.ts)
//   (the supervisor runs the host operations: veth, addresses, route, nft, UDP conntrack)
//   teardown    the supervisor unwinds the journal: nft elements, veth, lease

import type { Contribution, PlanContext } from '../runtime/phases.ts';
import type { HostStep, MountOp } from '../plan/types.ts';
import { netConfig, vethName } from './config.ts';
import { etcFiles, resolvFor } from './etc-files.ts';
import { podNetworkOps, type HostOp } from '../plan/host-ops.ts';
import { bridgeSteps, describeBridgeStep, ownerAlias } from './ip.ts';
import { elementOf, renderCreateElements, renderRuleset } from './nft.ts';
import { describePort, hostPorts } from './ports.ts';

function mounts(ctx: PlanContext): Map<string, MountOp[]> {
  const f = etcFiles(ctx.dirs.run);
  const ops: MountOp[] = [
    { op: 'bind', source: f.hosts, dst: '/etc/hosts', readOnly: false, recursive: false },
    { op: 'bind', source: f.hostname, dst: '/etc/hostname', readOnly: false, recursive: false },
    { op: 'bind', source: f.resolv, dst: '/etc/resolv.conf', readOnly: false, recursive: false },
  ];
  const out = new Map<string, MountOp[]>();
  for (const c of [...(ctx.pod.spec.initContainers ?? []), ...ctx.pod.spec.containers]) out.set(c.name, ops.map((o) => ({ ...o })));
  return out;
}

export function contributeNetwork(ctx: PlanContext): Contribution {
  const { pod } = ctx;
  const hostNetwork = pod.spec.hostNetwork === true;
  const ports = hostPorts(pod); // validates: a bad port is reported before anything is made
  resolvFor(pod, { nameservers: [], searches: [], options: [] }, hostNetwork); // validates dnsConfig
  if (hostNetwork) return { mounts: mounts(ctx) };
  const cfg = netConfig(process.env, ctx.network);
  const ip = ctx.facts.podIP ?? '<pod-ip>';
  const veth = vethName(ctx.uid);
  const hostSteps: HostStep[] = [
    ...bridgeSteps(cfg, ownerAlias(ctx.roots.run)).map((s) => ({ what: `bridge ${cfg.bridge} (when missing, over netlink)`, command: describeBridgeStep(s).split(' ') })),
  ];
  // One transaction: the table's fixed rules (rewritten whole), then the pod's port
  // elements; `create` fails on a key another pod holds, so two pods never share a port.
  const firewall: HostOp = {
    op: 'nft',
    what: ports.length ? `DNAT of ${ports.map(describePort).join(', ')} (table ip ${cfg.table})` : `the rules of table ip ${cfg.table}`,
    script: renderRuleset(cfg) + renderCreateElements(cfg.table, ports, ip),
    undo: ports.map((p) => `delete ${elementOf(cfg.table, p)}\n`).join(''),
  };
  // Then the UDP ports' stale flows, once their DNAT is in place.
  const conntrack = [...new Set(ports.filter((p) => p.protocol === 'udp').map((p) => p.hostPort))].map((port): HostOp => ({ op: 'conntrack', protocol: 'udp', port }));
  return { mounts: mounts(ctx), hostSteps, hostOps: [...podNetworkOps(cfg, veth, ip), firewall, ...conntrack] };
}

