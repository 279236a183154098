// minipod network ls | rm

import { loadNative } from '../native/load.ts';
import { describeBridge, formatPorts, knownBridges, removeBridge } from '../net/admin.ts';
import { netConfig } from '../net/config.ts';
import { help, outputFormat, parse, requireRoot, rootsFrom, table, UsageError, type Verb } from './common.ts';

const usage = `
Usage: minipod network ls [-o json]
       minipod network rm [--bridge NAME]

Pods get an address on a host bridge (default minipod0, subnet 10.90.0.0/16; set with
--bridge/--subnet of \`minipod run\` or MINIPOD_BRIDGE/MINIPOD_SUBNET). The bridge stays
when its pods go.

  ls    bridges, their subnet and gateway, and the address of each pod with its hostPorts
  rm    remove a bridge and minipod's firewall table for it, when no pod uses it
        (addresses of pods whose supervisor died are reclaimed first)

Options:
      --bridge NAME     the bridge (default: MINIPOD_BRIDGE, else minipod0)
  -o, --output json     ls as JSON
      --root DIR        state root
  -h, --help            this help
`;

export const networkVerb: Verb = {
  name: 'network',
  summary: 'list or remove the pod bridge and its addresses',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, { bridge: { type: 'string' }, output: { type: 'string', short: 'o' } });
    if (values.help) return help(this);
    const roots = rootsFrom(values);
    if (values.bridge !== undefined) process.env.MINIPOD_BRIDGE = values.bridge;
    const [sub, ...rest] = positionals;
    if (rest.length) throw new UsageError(`network ${sub}: unexpected argument "${rest[0]}"`);
    if (sub === 'ls' || sub === 'list') {
      const format = outputFormat(values.output, ['json']);
      const root = process.getuid?.() === 0;
      const names = values.bridge !== undefined ? [netConfig().bridge] : knownBridges(roots);
      const views = await Promise.all(names.map((b) => describeBridge(roots, b, root)));
      if (format === 'json') {
        process.stdout.write(JSON.stringify({ bridges: views }, null, 2) + '\n');
        return 0;
      }
      const state = (v: (typeof views)[number]) => (v.exists ? (v.up ? 'up' : 'down') : 'absent') + (v.firewall ? ', firewall' : '');
      process.stdout.write(table(['BRIDGE', 'SUBNET', 'GATEWAY', 'STATE', 'PODS'], views.map((v) => [v.bridge, v.subnet ?? '-', v.gateway ?? '-', state(v), String(v.allocations.length)])));
      const rows = views.flatMap((v) => v.allocations.map((a) => [a.ip, v.bridge, a.pod || '?', formatPorts(a.hostPorts) || '-']));
      if (rows.length) process.stdout.write('\n' + table(['ADDRESS', 'BRIDGE', 'POD', 'HOSTPORTS'], rows));
      return 0;
    }
    if (sub === 'rm') {
      if (values.output !== undefined) throw new UsageError('network rm takes no --output');
      requireRoot('minipod network rm');
      const bridge = netConfig().bridge;
      const lines = await removeBridge(loadNative(), roots, bridge);
      process.stdout.write(lines.length ? lines.map((l) => `${l}\n`).join('') : `nothing to remove for bridge ${bridge}\n`);
      return 0;
    }
    throw new UsageError(sub ? `network: unknown subcommand "${sub}" (ls or rm)` : 'network needs a subcommand: ls or rm');
  },
};
