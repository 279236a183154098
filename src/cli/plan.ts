// minipod plan [-o json|yaml|text] POD.yaml: what `run` would do, without doing it.

import { stringify } from 'yaml';

import { describePlan } from '../plan/describe.ts';
import { planPod } from '../runtime/start.ts';
import { podDirs } from '../state/paths.ts';
import { help, parse, report, rootsFrom, UsageError, warn, type Verb } from './common.ts';
import { loadManifest, locate, onePod } from './manifest.ts';

const usage = `
Usage: minipod plan [options] POD.yaml

Prints the plan minipod would execute for the pod, without running anything and without
root: for pause and each container, the namespaces it creates or joins, every mount
operation in order, hostname, user, capabilities, env and argv.

Options:
  -o, --output FORMAT   text (default), json (the exact plan the executor reads) or yaml
      --strict          treat "not supported yet" manifest fields as errors
      --root DIR        state root used to resolve images
  -h, --help            this help
`;

export const plan: Verb = {
  name: 'plan',
  summary: 'print what running a manifest would do',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' }, strict: { type: 'boolean' } });
    if (values.help) return help(this);
    if (positionals.length !== 1) throw new UsageError('plan needs exactly one manifest file');
    const format = values.output ?? 'text';
    if (!['text', 'json', 'yaml'].includes(format)) throw new UsageError(`--output must be text, json or yaml, not "${format}"`);
    const roots = rootsFrom(values);
    const manifest = loadManifest(positionals[0], !!values.strict, warn);
    const pod = onePod(manifest);
    try {
      const ctx = {
        pod: pod.value,
        uid: '(assigned at run)',
        roots,
        dirs: podDirs(roots, pod.value.metadata.name),
        configMaps: manifest.configMaps.map((c) => c.value),
        secrets: manifest.secrets.map((s) => s.value),
        facts: {},
      };
      const p = planPod(pod.value, ctx);
      if (format === 'json') process.stdout.write(JSON.stringify(p, null, 2) + '\n');
      else if (format === 'yaml') process.stdout.write(stringify(p));
      else process.stdout.write(describePlan(p));
      return 0;
    } catch (e) {
      return report(locate(e, pod));
    }
  },
};
