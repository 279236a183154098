// minipod ps [-a] [-o wide|json|yaml]


import { lazyNative } from '../native/load.ts';
import { listPods } from '../runtime/pods.ts';
import { podObject, psRow } from '../runtime/view.ts';
import { help, outputFormat, parse, rootsFrom, table, toYaml, type Verb } from './common.ts';

const usage = `
Usage: minipod ps [options]

Lists pods like \`kubectl get pods\`: NAME READY STATUS RESTARTS AGE IP (and COMPLETIONS,
succeeded/wanted, when a Job's pod is listed).
Without -a only pods whose supervisor runs are shown.

Options:
  -a, --all             also pods that have ended (kept until minipod rm)
  -o, --output FORMAT   wide (adds CONTAINERS and SUPERVISOR), json or yaml (full objects)
      --root DIR        state root
  -h, --help            this help
`;

export const ps: Verb = {
  name: 'ps',
  summary: 'list pods',
  usage,
  async main(argv) {
    const { values } = parse(argv, { all: { type: 'boolean', short: 'a' }, output: { type: 'string', short: 'o' } });
    if (values.help) return help(this);
    const format = outputFormat(values.output, ['wide', 'json', 'yaml']);
    const roots = rootsFrom(values);
    const pods = (await listPods(lazyNative(), roots)).filter((p) => values.all || p.liveness === 'running' || p.liveness === 'creating');
    if (format === 'json' || format === 'yaml') {
      const list = { apiVersion: 'v1', kind: 'List', items: pods.map(podObject) };
      process.stdout.write(format === 'json' ? JSON.stringify(list, null, 2) + '\n' : await toYaml(list));
      return 0;
    }
    const rows = pods.map(psRow);
    // COMPLETIONS when a Job's pod is listed, as `kubectl get jobs` has it.
    const jobs = rows.some((r) => r.completions);
    const headers = ['NAME', 'READY', 'STATUS', 'RESTARTS', ...(jobs ? ['COMPLETIONS'] : []), 'AGE', 'IP', ...(format === 'wide' ? ['CONTAINERS', 'SUPERVISOR'] : [])];
    const cells = rows.map((r) => [r.name, r.ready, r.status, r.restarts, ...(jobs ? [r.completions ?? '-'] : []), r.age, r.ip, ...(format === 'wide' ? [r.containers, r.supervisor] : [])]);
    if (!rows.length) {
      process.stderr.write(values.all ? 'No pods found.\n' : 'No running pods found (minipod ps -a shows ended ones).\n');
      return 0;
    }
    process.stdout.write(table(headers, cells));
    return 0;
  },
};
