// minipod logs POD [-c CONTAINER] [-f] [--previous] [--timestamps] [--tail N]

import { existsSync, readFileSync } from 'node:fs';

import { lazyNative } from '../native/load.ts';
import { pickContainer } from '../runtime/exec.ts';
import { CriParser, follow, formatLine, logFile, logIndex } from '../runtime/logs.ts';
import { findPod, podInfo } from '../runtime/pods.ts';
import { help, parse, rootsFrom, UsageError, type Verb } from './common.ts';

const usage = `
Usage: minipod logs [options] POD

Prints a container's output (stdout and stderr, in order) from its CRI log file.

Options:
  -c, --container NAME  the container (needed when the pod has more than one)
  -f, --follow          keep printing new output until the container stops
  -p, --previous        the previous run of a restarted container
      --timestamps      prefix each line with its RFC 3339 timestamp
      --tail N          only the last N lines
      --root DIR        state root
  -h, --help            this help
`;

export const logs: Verb = {
  name: 'logs',
  summary: "print a container's logs",
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, {
      container: { type: 'string', short: 'c' },
      follow: { type: 'boolean', short: 'f' },
      previous: { type: 'boolean', short: 'p' },
      timestamps: { type: 'boolean' },
      tail: { type: 'string' },
    });
    if (values.help) return help(this);
    if (positionals.length !== 1) throw new UsageError('logs needs one pod name');
    const tail = values.tail === undefined ? undefined : Number(values.tail);
    if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw new UsageError(`--tail: not a count: ${values.tail}`);
    const roots = rootsFrom(values);
    const info = await findPod(lazyNative(), roots, positionals[0]);
    const { plan, status } = pickContainer(info, values.container, 'logs');
    const n = logIndex(status, !!values.previous, plan.name);
    const file = logFile(info.dirs, plan.name, n);
    const ts = !!values.timestamps;
    const text = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
    let lines = new CriParser().push(text.toString('utf8'));
    if (tail !== undefined) lines = tail === 0 ? [] : lines.slice(-tail);
    for (const l of lines) process.stdout.write(formatLine(l, ts));
    if (!values.follow || values.previous) return 0;
    // Follow this run of the container until it is no longer running.
    const still = () => {
      const s = podInfo(roots, info.name).state?.containers.find((c) => c.name === plan.name);
      return s?.state === 'running' && s.restartCount === n;
    };
    await follow(file, text.length, (l) => process.stdout.write(formatLine(l, ts)), () => !still());
    return 0;
  },
};
