// The pod network hook: plugs src/net into pod start, teardown and gc.
//
//   contribute  (pure, also `minipod plan`) /etc files mounted into each container, and
//               the `ip`/`nft` steps that will run, as host steps
//   prepare     address, host ports, /etc files          (setup.ts)
//   afterPause  bridge, veth pair, routes, firewall       (setup.ts)
//   teardown    undo from host.json; gc reclaims leases   (undo.ts)

import { registerGcStep } from '../runtime/gc.ts';
import { registerHook, type Contribution, type HookContext } from '../runtime/hooks.ts';
import { onNetworkTeardown } from '../runtime/teardown.ts';
import type { HostStep, MountOp } from '../plan/types.ts';
import { netConfig, vethName } from './config.ts';
import { etcFiles, resolvFor } from './etc-files.ts';
import { bridgeCommands, ownerAlias, podCommands, vethCommands } from './ip.ts';
import { renderCreateElements, renderRuleset } from './nft.ts';
import { hostPorts } from './ports.ts';
import { prepareNetwork, wirePod } from './setup.ts';
import { reclaimLeases, undoNetwork } from './undo.ts';

function mounts(ctx: HookContext): Map<string, MountOp[]> {
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

export function contributeNetwork(ctx: HookContext): Contribution {
  const { pod } = ctx;
  const hostNetwork = pod.spec.hostNetwork === true;
  const ports = hostPorts(pod); // validates: a bad port is reported before anything is made
  resolvFor(pod, { nameservers: [], searches: [], options: [] }, hostNetwork); // validates dnsConfig
  if (hostNetwork) return { mounts: mounts(ctx) };
  const cfg = netConfig();
  const ip = ctx.facts.podIP ?? '<pod-ip>';
  const veth = vethName(ctx.uid);
  const hostSteps: HostStep[] = [
    ...bridgeCommands(cfg, ownerAlias(ctx.roots.run)).map((l) => ({ what: `bridge ${cfg.bridge} (when missing)`, command: ['ip', ...l.split(' ')] })),
    ...vethCommands(cfg, veth, '<pause-pid>').map((l) => ({ what: 'veth pair, eth0 in the pod', command: ['ip', ...l.split(' ')] })),
    ...podCommands(cfg, ip).map((l) => ({ what: "in the pod's network namespace", command: ['nsenter', '--net=/proc/<pause-pid>/ns/net', 'ip', ...l.split(' ')] })),
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
  return { mounts: mounts(ctx), hostSteps };
}

registerHook({
  name: 'network',
  contribute: contributeNetwork,
  prepare: prepareNetwork,
  afterPause: wirePod,
});
onNetworkTeardown(undoNetwork);
registerGcStep(reclaimLeases);
