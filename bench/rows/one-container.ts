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
//   true            process start, for scale; and the same through this harness (spawnSync
//                   from a Node process), the overhead inside every command time of P1/P2/P4
// The commands are timed by hyperfine -N; minipod and the peers alternate in blocks of 10.

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

/**
 * Times a command `n` times with hyperfine -N (no shell; hyperfine forks from a small
 * process): spawning from this Node process would add its own fork cost (~10 ms here, see
 * the harness floor row) to figures of a few ms.
 */
function hyperfine(work: string, n: number, cmd: string[], env?: NodeJS.ProcessEnv): number[] {
  const json = path.join(work, 'hyperfine.json');
  must('hyperfine', ['-N', '--style', 'none', '--runs', String(n), '--export-json', json, cmd.join(' ')], env);
  const r = JSON.parse(fs.readFileSync(json, 'utf8')) as { results: { times: number[]; exit_codes: number[] }[] };
  if (r.results[0].exit_codes.some((c) => c !== 0)) throw new Error(`${cmd.join(' ')}: a run failed`);
  return r.results[0].times.map((t) => t * 1000);
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
    true: sample('true (process start, hyperfine -N)'),
    harness: sample('true via the harness (spawnSync from Node)'),
  };
  // Blocks of BLOCK runs per variant, the variants' order rotating from block to block.
  const BLOCK = 10;
  const hf = (n: number, cmd: string[], env?: NodeJS.ProcessEnv) => hyperfine(ctx.work, n, cmd, env);
  const variants: { s: Sample; runs: number; go: (n: number, i: number) => Promise<number[]> | number[] }[] = [
    {
      s: s.addon,
      runs: ctx.runs.spawn,
      go: async (n, i) => {
        const out: number[] = [];
        for (let k = 0; k < n; k++) {
          const dir = path.join(spawnDir, `${i}-${k}`);
          try {
            out.push(await addonSpawn(dir, lower));
          } finally {
            fs.rmSync(dir, { recursive: true, force: true });
          }
        }
        return out;
      },
    },
    { s: s.e2e, runs: ctx.runs.e2e, go: (n) => hf(n, [mp.bin, 'run', truePod], mp.env) },
    { s: s.crun, runs: ctx.runs.spawn, go: (n) => hf(n, ['crun', 'run', '--bundle', bundle, 'mpb-crun']) },
    { s: s.runc, runs: ctx.runs.spawn, go: (n) => hf(n, ['runc', 'run', '--bundle', bundle, 'mpb-runc']) },
    { s: s.unshare, runs: ctx.runs.spawn, go: (n) => hf(n, ['unshare', '--fork', '--pid', '--net', '--ipc', '--uts', '--mount', 'true']) },
    { s: s.true, runs: ctx.runs.spawn, go: (n) => hf(n, ['true']) },
    { s: s.harness, runs: ctx.runs.spawn, go: (n) => Array.from({ length: n }, () => must('true', [])) },
  ];
  // warm-up: page cache, JIT, the addon's first load
  for (const v of variants) await v.go(1, -1);
  const rounds = Math.max(...variants.map((v) => Math.ceil(v.runs / BLOCK)));
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + i) % variants.length];
      const n = Math.min(BLOCK, v.runs - v.s.values.length);
      if (n > 0) v.s.values.push(...(await v.go(n, i)));
    }
    ctx.log(`P3: ${i + 1}/${rounds} blocks of ${BLOCK}`);
  }
  fs.rmSync(spawnDir, { recursive: true, force: true });

  const goal = { max: 0.2, text: '≤ 1/5 of crun run' };
  return [
    { row: 'P3 one container `true`', a: s.addon, b: s.crun, goal },
    { row: 'P3 one container `true`', a: s.addon, b: s.runc },
    { row: 'P3 one container `true`', a: s.addon, b: s.unshare, note: 'floor' },
    { row: 'P3 one container `true`', a: s.e2e, b: s.crun, note: 'whole pod: pause, network, container, teardown; Node start' },
    { row: 'P3 one container `true`', a: s.true, note: 'process start floor' },
    { row: 'P3 one container `true`', a: s.harness, note: 'spawn cost included in the P1, P2, P4 command times (both sides)' },
  ];
}
