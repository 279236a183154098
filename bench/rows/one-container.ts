// P3: one container running `true`.
//
//   addon spawn     minipod's native executor called in this process (src/native): plan ->
//                   clone with 5 new namespaces -> overlay, system mounts, pivot -> exec
//                   /bin/true -> exit seen through the pidfd. The layer directories are made
//                   inside the timing (minipod makes them for every start).
//   minipod run     the CLI end to end, in the foreground: a one-container pod with
//                   restartPolicy Never (pause, pod network, container, teardown), until exit
//   crun run, runc run   the same busybox tree as an OCI bundle (`crun spec`'s config)
//   unshare         the floor: unshare --fork --pid --net --ipc --uts --mount true
//   true            process start through this harness (spawnSync), for scale
// Every round runs each variant once, in a rotating order.

import fs from 'node:fs';
import path from 'node:path';

import { loadNative } from '../../src/native/load.ts';
import type { Ctx } from '../lib/context.ts';
import { must, run } from '../lib/exec.ts';
import type { Minipod } from '../lib/minipod.ts';
import { sample, type Comparison, type Sample } from '../lib/result.ts';
import { truePlan } from '../lib/spawn-plan.ts';

/** One addon spawn of /bin/true, timed from the plan to the exit notification. */
async function addonSpawn(dir: string, lower: string): Promise<number> {
  const native = loadNative();
  const t0 = performance.now();
  const d = { lower, upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), target: path.join(dir, 'rootfs'), shm: path.join(dir, 'shm') };
  for (const p of [d.upper, d.work, d.target, d.shm]) fs.mkdirSync(p, { recursive: true });
  const { pidfd } = native.spawn({ plan: truePlan(d), stdio: ['null', 'null', 'inherit'] });
  const code = await new Promise<number | null>((resolve) => native.watch(pidfd, (e) => resolve(e.code), true));
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`addon spawn of /bin/true: exit ${code}`);
  return ms;
}

export async function oneContainer(ctx: Ctx, mp: Minipod): Promise<Comparison[]> {
  const bundle = path.join(ctx.work, 'bundle');
  const lower = path.join(ctx.work, 'rootfs');
  const truePod = path.join(ctx.work, 'true-pod.yaml');
  fs.writeFileSync(
    truePod,
    'apiVersion: v1\nkind: Pod\nmetadata:\n  name: mpb-true\nspec:\n  restartPolicy: Never\n  containers:\n' +
      '    - name: "true"\n      image: localhost/busybox:latest\n      command: ["/bin/true"]\n',
  );
  const spawnDir = path.join(ctx.work, 'spawn');
  run('crun', ['delete', '-f', 'mpb-crun']);
  run('runc', ['delete', '-f', 'mpb-runc']);

  const s = {
    addon: sample('addon spawn (in-process)'),
    e2e: sample('minipod run (foreground, Never)'),
    crun: sample('crun run'),
    runc: sample('runc run'),
    unshare: sample('unshare --fork --pid --net --ipc --uts --mount true'),
    true: sample('true (process start via the harness)'),
  };
  const variants: { s: Sample; runs: number; go: (i: number) => Promise<number> | number }[] = [
    {
      s: s.addon,
      runs: ctx.runs.spawn,
      go: async (i) => {
        const dir = path.join(spawnDir, String(i));
        try {
          return await addonSpawn(dir, lower);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      },
    },
    { s: s.e2e, runs: ctx.runs.e2e, go: () => mp.must(['run', truePod]) },
    { s: s.crun, runs: ctx.runs.spawn, go: () => must('crun', ['run', '--bundle', bundle, 'mpb-crun']) },
    { s: s.runc, runs: ctx.runs.spawn, go: () => must('runc', ['run', '--bundle', bundle, 'mpb-runc']) },
    { s: s.unshare, runs: ctx.runs.spawn, go: () => must('unshare', ['--fork', '--pid', '--net', '--ipc', '--uts', '--mount', 'true']) },
    { s: s.true, runs: ctx.runs.spawn, go: () => must('true', []) },
  ];
  // warm-up: page cache, JIT, the addon's first load
  for (const v of variants) await v.go(-1);
  const rounds = Math.max(...variants.map((v) => v.runs));
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + i) % variants.length];
      if (i < v.runs) v.s.values.push(await v.go(i));
    }
    if (i % 20 === 19) ctx.log(`P3: ${i + 1}/${rounds} rounds`);
  }
  fs.rmSync(spawnDir, { recursive: true, force: true });

  const goal = { max: 0.2, text: '≤ 1/5 of crun run' };
  return [
    { row: 'P3 one container `true`', a: s.addon, b: s.crun, goal },
    { row: 'P3 one container `true`', a: s.addon, b: s.runc },
    { row: 'P3 one container `true`', a: s.addon, b: s.unshare, note: 'floor' },
    { row: 'P3 one container `true`', a: s.e2e, b: s.crun, note: 'whole pod: pause, network, container, teardown; Node start' },
    { row: 'P3 one container `true`', a: s.true, note: 'harness floor for the command rows' },
  ];
}
