// minipod rm [-f] POD...

import { loadNative } from '../native/load.ts';
import { removePod } from '../runtime/control.ts';
import { findPod } from '../runtime/pods.ts';
import { graceOption, help, parse, report, rootsFrom, UsageError, type Verb } from './common.ts';

const usage = `
Usage: minipod rm [options] POD...

Removes pods: a running pod is stopped first (gracefully: stop signal, SIGKILL after
terminationGracePeriodSeconds), then everything of it goes: processes, mounts, overlays,
its network (veth, address, firewall rules), state and logs.

Options:
  -f, --force           do not wait for a grace period: SIGKILL at once
  -t, --time SECONDS    grace period instead of the pod's terminationGracePeriodSeconds
      --root DIR        state root
  -h, --help            this help
`;

export const rm: Verb = {
  name: 'rm',
  summary: 'stop if needed, then remove pods and everything they left',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, { force: { type: 'boolean', short: 'f' }, time: { type: 'string', short: 't' } });
    if (values.help) return help(this);
    if (!positionals.length) throw new UsageError('rm needs at least one pod name');
    const grace = graceOption(values.time);
    const native = loadNative();
    const roots = rootsFrom(values);
    let rc = 0;
    for (const name of positionals) {
      try {
        await removePod(native, roots, await findPod(native, roots, name), !!values.force, grace);
        process.stdout.write(`${name}\n`);
      } catch (e) {
        rc = report(e);
      }
    }
    return rc;
  },
};
