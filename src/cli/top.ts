// minipod top [POD...] [--containers] [--window MS]

import { setTimeout as sleep } from 'node:timers/promises';

import { hostLayout } from '../cgroups/layout.ts';
import { cgroupRefOf, podUsage, rate, type PodUsage } from '../cgroups/stats.ts';
import { lazyNative } from '../native/load.ts';
import { findPod, listPods, readPlan, type PodInfo } from '../runtime/pods.ts';
import { help, parse, rootsFrom, table, UsageError, type Verb } from './common.ts';

const usage = `
Usage: minipod top [options] [POD...]

Shows what running pods use, like \`kubectl top pod\`: CPU in millicores over a short
window and the memory working set (usage minus inactive file pages), from their cgroups.

Options:
      --containers      one line per container
      --window MS       the CPU window (default 100)
      --root DIR        state root
  -h, --help            this help
`;

function cgroupRefOfPlan(p: PodInfo) {
  const plan = readPlan(p.dirs);
  return plan && cgroupRefOf(plan);
}

function mem(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}

export const top: Verb = {
  name: 'top',
  summary: 'show the CPU and memory use of pods',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, { containers: { type: 'boolean' }, window: { type: 'string' } });
    if (values.help) return help(this);
    const window = values.window === undefined ? 100 : Number(values.window);
    if (!(window >= 10 && window <= 60_000)) throw new UsageError(`--window: a number of ms from 10 to 60000, not "${values.window}"`);
    const roots = rootsFrom(values);
    const native = lazyNative();
    const pods: PodInfo[] = positionals.length ? await Promise.all(positionals.map((n) => findPod(native, roots, n))) : await listPods(native, roots);
    const running = pods.filter((p) => p.liveness === 'running');
    const layout = hostLayout();
    // The host record names the cgroups; the plan (larger) only for a pod that predates it.
    const plans = running.map((p) => ({ info: p, ref: p.host?.cgroups ?? cgroupRefOfPlan(p) }));
    const sample = () => plans.map(({ ref }) => podUsage(ref, layout));
    const t0 = performance.now();
    const first = sample();
    await sleep(window);
    const second = sample();
    const ms = performance.now() - t0;
    const rows: string[][] = [];
    plans.forEach(({ info }, i) => {
      const a = first[i];
      const b = second[i];
      if (!a || !b) return;
      if (!values.containers) {
        const r = rate(a, b, ms);
        rows.push([info.name, `${r.cpuMillicores}m`, mem(r.memoryWorkingSetBytes)]);
        return;
      }
      for (const c of (b as PodUsage).containers) {
        const before = a.containers.find((x) => x.name === c.name);
        if (!before) continue;
        const r = rate(before, c, ms);
        rows.push([info.name, c.name, `${r.cpuMillicores}m`, mem(r.memoryWorkingSetBytes)]);
      }
    });
    if (!rows.length) {
      process.stderr.write(positionals.length ? 'No metrics: the pod is not running, or has no cgroups.\n' : 'No running pods found.\n');
      return positionals.length ? 1 : 0;
    }
    process.stdout.write(table(values.containers ? ['POD', 'NAME', 'CPU(cores)', 'MEMORY(bytes)'] : ['NAME', 'CPU(cores)', 'MEMORY(bytes)'], rows));
    return 0;
  },
};
