// minipod's firewall rules: one nftables table per bridge, `ip minipod-<bridge>`.
//
// The rules are fixed; pods only add and remove map elements. hostPort DNAT looks the
// destination up in two maps (a specific hostIP first, then "any address"), so publishing
// or withdrawing a port is one element, not a rule to find by handle later, and teardown
// deletes exactly the keys it recorded. `create element` fails when a key exists, so two
// pods can never both program one port, whatever the earlier checks missed.
//
//   prerouting, output (dst-type local)  -> hostports: dnat via @hostport_ip, @hostport_any
//   postrouting: DNATed traffic from 127.0.0.0/8 out the bridge     masquerade (localhost:hostPort)
//                DNATed traffic from the subnet back out the bridge masquerade (hairpin)
//                pod traffic leaving the subnet                     masquerade (egress; optional)
//   input: from the bridge to 127.0.0.0/8, not from 127.0.0.0/8, not a reply or a DNAT  drop
//
// The input rule is kube-proxy's answer to CVE-2020-8558: route_localnet=1 (needed for
// 127.0.0.1:hostPort) would otherwise let a pod reach host services bound to 127.0.0.1 by
// sending to that address through the gateway's MAC.

import type { NetConfig } from './config.ts';
import type { HostPort } from './ports.ts';
import { mustRun, runTool } from './exec.ts';

export function renderRuleset(cfg: NetConfig): string {
  const t = `ip ${cfg.table}`;
  const br = `"${cfg.bridge}"`;
  const sub = cfg.subnet.text;
  const lines = [
    `add table ${t}`,
    `add map ${t} hostport_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add map ${t} hostport_any { type inet_proto . inet_service : ipv4_addr . inet_service; }`,
    `add chain ${t} hostports`,
    `add chain ${t} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${t} output { type nat hook output priority -100; policy accept; }`,
    `add chain ${t} postrouting { type nat hook postrouting priority srcnat; policy accept; }`,
    `add chain ${t} input { type filter hook input priority filter; policy accept; }`,
    // Rewritten whole each time (one atomic transaction): a newer minipod, or a changed
    // masquerade setting, replaces the rules instead of piling more up. Maps are kept.
    ...['hostports', 'prerouting', 'output', 'postrouting', 'input'].map((c) => `flush chain ${t} ${c}`),
    `add rule ${t} prerouting fib daddr type local jump hostports`,
    `add rule ${t} output fib daddr type local jump hostports`,
    `add rule ${t} hostports dnat to ip daddr . meta l4proto . th dport map @hostport_ip`,
    `add rule ${t} hostports dnat to meta l4proto . th dport map @hostport_any`,
    `add rule ${t} postrouting oifname ${br} ip saddr 127.0.0.0/8 ct status dnat masquerade`,
    `add rule ${t} postrouting oifname ${br} ip saddr ${sub} ct status dnat masquerade`,
    `add rule ${t} input iifname ${br} ip daddr 127.0.0.0/8 ip saddr != 127.0.0.0/8 ct state != { established, related } ct status & dnat == 0 drop`,
  ];
  if (cfg.masquerade) lines.push(`add rule ${t} postrouting oifname != ${br} ip saddr ${sub} ip daddr != ${sub} masquerade`);
  return lines.join('\n') + '\n';
}

/** The map element of one published port, as a key (for delete) or key : value (for create). */
export function elementOf(table: string, p: HostPort, podIP?: string): string {
  const map = p.hostIP ? 'hostport_ip' : 'hostport_any';
  const key = `${p.hostIP ? `${p.hostIP} . ` : ''}${p.protocol} . ${p.hostPort}`;
  return `element ip ${table} ${map} { ${key}${podIP ? ` : ${podIP} . ${p.containerPort}` : ''} }`;
}

export function renderCreateElements(table: string, ports: HostPort[], podIP: string): string {
  return ports.map((p) => `create ${elementOf(table, p, podIP)}\n`).join('');
}

export async function tableExists(table: string): Promise<boolean> {
  return (await runTool('nft', ['list', 'table', 'ip', table])).code === 0;
}

export async function deleteTable(table: string): Promise<boolean> {
  if (!(await tableExists(table))) return false;
  await mustRun(`removing firewall table ${table}`, 'nft', ['delete', 'table', 'ip', table]);
  return true;
}

