// minipod __teardown [--keep-state] [--root DIR] POD
// Internal: the supervisor of a detached pod execs this when the pod ends, to undo the
// host side (network, mounts, layers). Not for users; `minipod rm` and `gc` do the same.

import { loadNative } from '../native/load.ts';
import { teardownPod } from '../runtime/teardown.ts';
import { parse, rootsFrom, UsageError, type Verb } from './common.ts';

export const teardown: Verb = {
  name: '__teardown',
  summary: '(internal) undo the host side of an ended pod',
  usage: 'Usage: minipod __teardown [--keep-state] [--root DIR] POD',
  async main(argv) {
    const { values, positionals } = parse(argv, { 'keep-state': { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError(this.usage);
    const report = await teardownPod(loadNative(), rootsFrom(values), positionals[0], { keepState: !!values['keep-state'] });
    for (const line of report) process.stderr.write(`${new Date().toISOString()} teardown: ${line}\n`);
    return 0;
  },
};
