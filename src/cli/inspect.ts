// minipod inspect POD [-o json|yaml]


import { lazyNative } from '../native/load.ts';
import { findPod } from '../runtime/pods.ts';
import { podObject } from '../runtime/view.ts';
import { help, outputFormat, parse, rootsFrom, toYaml, UsageError, type Verb } from './common.ts';

const usage = `
Usage: minipod inspect [options] POD

Prints the pod as a Kubernetes Pod object with its full status (phase, IP, and for every
container its state, last state, restart count and readiness), plus minipod's own facts
(state directories, supervisor and pause pids) under "minipod".

Options:
  -o, --output FORMAT   json (default) or yaml
      --root DIR        state root
  -h, --help            this help
`;

export const inspect: Verb = {
  name: 'inspect',
  summary: "show a pod's full status",
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' } });
    if (values.help) return help(this);
    if (positionals.length !== 1) throw new UsageError('inspect needs one pod name');
    const format = outputFormat(values.output, ['json', 'yaml']) ?? 'json';
    const info = await findPod(lazyNative(), rootsFrom(values), positionals[0]);
    const obj = podObject(info);
    process.stdout.write(format === 'json' ? JSON.stringify(obj, null, 2) + '\n' : await toYaml(obj));
    return 0;
  },
};
