// minipod gc [--all]

import { loadNative } from '../native/load.ts';
import { gc as collect } from '../runtime/gc.ts';
import { help, parse, requireRoot, rootsFrom, type Verb } from './common.ts';

const usage = `
Usage: minipod gc [options]

Finds pods whose supervisor is gone without having cleaned up (killed, crashed) and
removes everything they left: processes, mounts, overlays, veths, firewall rules,
addresses, directories. Prints what it removed.

Options:
      --all             also remove pods that ended normally (kept for ps -a otherwise)
      --root DIR        state root
  -h, --help            this help
`;

export const gcVerb: Verb = {
  name: 'gc',
  summary: 'clean up after pods whose supervisor died',
  usage,
  async main(argv) {
    const { values } = parse(argv, { all: { type: 'boolean' } });
    if (values.help) return help(this);
    const roots = rootsFrom(values);
    requireRoot('minipod gc');
    const report = await collect(loadNative(), roots, { all: !!values.all });
    process.stdout.write(report.length ? report.map((l) => `${l}\n`).join('') : 'nothing to clean up\n');
    return 0;
  },
};
