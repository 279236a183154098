// The pod network's part of planning (start.ts calls it, then setup.ts's prepareNetwork
// and wirePod; teardown.ts and gc.ts call undo.ts).
//
//   contribute  (pure, also `minipod plan`) /etc files mounted into each container; the
//               pod's wiring as host operations (the supervisor runs them over netlink);
//               the bridge's `ip` commands (when it is missing) and the `nft` transaction
//   prepare     address, host ports, /etc files, the bridge; the veth recorded (setup.ts)
//   afterPause  firewall: the pod's hostPort elements, UDP conntrack flush  (setup.ts)
//   teardown    undo from host.json; gc reclaims leases   (undo.ts)

import type { Contribution, PlanContext } from '../runtime/phases.ts';
import type { HostStep, MountOp } from '../plan/types.ts';
import { netConfig, vethName } from './config.ts';
import { etcFiles, resolvFor } from './etc-files.ts';
import { podNetworkOps } from '../plan/host-ops.ts';
import { bridgeSteps, describeBridgeStep, ownerAlias } from './ip.ts';
import { renderCreateElements, renderRuleset } from './nft.ts';
import { hostPorts } from './ports.ts';

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
    // One `nft -f -` transaction: the table's fixed rules, then the pod's port elements.
    ...renderRuleset(cfg)
      .trim()
      .split('\n')
      .map((l) => ({ what: `firewall (table ip ${cfg.table})`, command: ['nft', ...l.split(' ')] })),
    ...renderCreateElements(cfg.table, ports, ip)
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ what: 'publish a hostPort', command: ['nft', ...l.split(' ')] })),
  ];
  return { mounts: mounts(ctx), hostSteps, hostOps: podNetworkOps(cfg, veth, ip) };
}

