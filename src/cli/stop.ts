// minipod stop POD...

import { loadNative } from '../native/load.ts';
import { stopPod } from '../runtime/control.ts';
import { findPod } from '../runtime/pods.ts';
import { graceOption, help, parse, report, rootsFrom, UsageError, type Verb } from './common.ts';

const usage = `
Usage: minipod stop [options] POD...

Stops pods gracefully: each container's preStop hook and stop signal (SIGTERM), SIGKILL
after terminationGracePeriodSeconds, then pause. The pod's network, mounts and layers are
released; its status and logs stay (minipod ps -a, minipod logs) until minipod rm.

Options:
  -t, --time SECONDS    grace period instead of the pod's terminationGracePeriodSeconds
                        (0: SIGKILL right after the stop signal), as podman stop -t
      --root DIR        state root
  -h, --help            this help
`;

export const stop: Verb = {
  name: 'stop',
  summary: 'stop pods gracefully (keeps their status and logs)',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, { time: { type: 'string', short: 't' } });
    if (values.help) return help(this);
    if (!positionals.length) throw new UsageError('stop needs at least one pod name');
    const grace = graceOption(values.time);
    const native = loadNative();
    const roots = rootsFrom(values);
    let rc = 0;
    for (const name of positionals) {
      try {
        const info = await findPod(native, roots, name);
        if (info.liveness !== 'running') process.stderr.write(`minipod: pod "${name}" is not running\n`);
        else await stopPod(native, info, grace);
        process.stdout.write(`${name}\n`);
      } catch (e) {
        rc = report(e);
      }
    }
    return rc;
  },
};
