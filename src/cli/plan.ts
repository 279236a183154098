// minipod plan [-o json|yaml|text] [run's options] FILE: what `run` would do, without doing it.

import { stringify } from 'yaml';

import { describePlan } from '../plan/describe.ts';
import { planPod } from '../runtime/start.ts';
import { podDirs } from '../state/paths.ts';
import { help, parse, report, rootsFrom, UsageError, type Verb } from './common.ts';
import { locate } from './manifest.ts';
import { loadWithObjects, PLAN_OPTIONS, PLAN_OPTIONS_HELP, planOptions } from './run-options.ts';

const usage = `
Usage: minipod plan [options] FILE

Prints the plan minipod would execute for each pod of FILE (Pods, and the pods of its
Deployments, ReplicaSets, DaemonSets and Jobs), without running anything and without root:
for pause and each container, the namespaces it creates or joins, every mount operation in
order, hostname, user, capabilities, env and argv. It takes run's options, which change
the plan as they change the run.

Options:
  -o, --output FORMAT   text (default), json (the exact plan the executor reads; an array
                        when FILE has several pods) or yaml
${PLAN_OPTIONS_HELP}
      --root DIR        state root used to resolve images
  -h, --help            this help
`;

export const plan: Verb = {
  name: 'plan',
  summary: 'print what running a manifest would do',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' }, ...PLAN_OPTIONS });
    if (values.help) return help(this);
    if (positionals.length !== 1) throw new UsageError('plan needs exactly one manifest file');
    const format = values.output ?? 'text';
    if (!['text', 'json', 'yaml'].includes(format)) throw new UsageError(`--output must be text, json or yaml, not "${format}"`);
    const roots = rootsFrom(values);
    const { manifest, configMaps, secrets } = loadWithObjects(positionals[0], values);
    if (!manifest.pods.length) throw new UsageError(`${manifest.file}: no Pod in this file (nor a workload that makes pods)`);
    const plans = [];
    for (const pod of manifest.pods) {
      try {
        plans.push(planPod(pod.value, { pod: pod.value, uid: '(assigned at run)', roots, dirs: podDirs(roots, pod.value.metadata.name), configMaps, secrets, facts: {}, ...planOptions(values) }));
      } catch (e) {
        return report(locate(e, pod));
      }
    }
    const one = plans.length === 1 ? plans[0] : plans;
    if (format === 'json') process.stdout.write(JSON.stringify(one, null, 2) + '\n');
    else if (format === 'yaml') process.stdout.write(stringify(one));
    else process.stdout.write(plans.map(describePlan).join('\n'));
    return 0;
  },
};
