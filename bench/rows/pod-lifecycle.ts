// P1 pod up, P2 pod teardown and P5 memory per pod, from the same rounds.
//
// One round per runtime, minipod and podman alternating which goes first:
//   P1  start `minipod run -d` / `podman kube play` -> it returns -> GET 127.0.0.1:8888 until
//       it answers 200 with the writer's page: the time from start to that answer
//   (1 s pause, so that the pod is settled, as after a real start)
//   P5  RSS and PSS of what the runtime keeps running for the pod
//   P2  `minipod rm -f` / `podman kube down`, to its return (see Minipod.down for -f)
// and, in the same rounds, the API from this (warm) process: runPod() until the same answer,
// then pod.remove({force: true}); and a floor for the CLI: `node -e 0` plus three addon
// spawns of /bin/true in four new namespaces (pause and two containers, without their
// mounts), timed in this process.
// Between rounds: the port must be free again, and podman's helpers must have exited.

import { runPod } from '../../src/api.ts';
import { loadNative } from '../../src/native/load.ts';
import { DEFAULT_PATH } from '../../src/plan/defaults.ts';
import type { ProcessPlan } from '../../src/plan/types.ts';
import type { Ctx } from '../lib/context.ts';
import { run, sleep } from '../lib/exec.ts';
import { answering, waitServing } from '../lib/http.ts';
import type { Minipod } from '../lib/minipod.ts';
import type { Podman } from '../lib/podman.ts';
import { sumMemory, type Member } from '../lib/proc.ts';
import { sample, type Comparison, type Sample } from '../lib/result.ts';

interface Side {
  up: Sample;
  returned: Sample;
  down: Sample;
  rss: Sample;
  pss: Sample;
  parts: Map<string, number[]>;
}

function side(up: string, down: string, mem: string): Side {
  return {
    up: sample(up),
    returned: sample(`${up}: returned`),
    down: sample(down),
    rss: sample(`${mem} RSS`, 'kB'),
    pss: sample(`${mem} PSS`, 'kB'),
    parts: new Map(),
  };
}

async function portFree(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (!(await answering(port))) return;
    await sleep(100);
  }
  throw new Error(`something still answers on 127.0.0.1:${port}: is another pod using the bench's hostPort?`);
}

async function round(ctx: Ctx, s: Side, up: () => number, helpers: () => Member[], down: () => number): Promise<void> {
  await portFree(ctx.hostPort);
  const t0 = performance.now();
  s.returned.values.push(up());
  await waitServing(ctx.hostPort, ctx.body, 30000);
  s.up.values.push(performance.now() - t0);
  await sleep(1000);
  const m = sumMemory(helpers());
  s.rss.values.push(m.total.rss);
  s.pss.values.push(m.total.pss);
  // PSS per role, summed over processes of the same role (one conmon per container)
  const byRole = new Map<string, number>();
  for (const p of m.parts) byRole.set(p.role, (byRole.get(p.role) ?? 0) + p.mem.pss);
  for (const [role, kb] of byRole) s.parts.set(role, [...(s.parts.get(role) ?? []), kb]);
  s.down.values.push(down());
}

export interface LifecycleResult {
  rows: Comparison[];
  /** Median PSS per helper role, kB, for the memory breakdown in the report. */
  breakdown: { runtime: string; role: string; pssKb: number[] }[];
}

export async function podLifecycle(ctx: Ctx, mp: Minipod, pm: Podman): Promise<LifecycleResult> {
  const m = side('minipod run -d', 'minipod rm -f', 'shim + pause');
  const p = side('podman kube play', 'podman kube down', 'conmon ×3 + catatonit + aardvark-dns');
  const api = side('runPod() (a warm process)', 'pod.remove({force: true})', 'api');
  const floor = sample('floor: node -e 0 + 3 addon spawns');
  const native = loadNative();
  const bare: ProcessPlan = {
    pod: 'bench',
    container: 'floor',
    namespaces: (['ipc', 'uts', 'net', 'pid'] as const).map((type) => ({ type, action: 'create' as const })),
    loopbackUp: true,
    mounts: [],
    user: { uid: 0, gid: 0, groups: [] },
    capabilities: [],
    noNewPrivileges: true,
    cwd: '/',
    argv: ['/bin/true'],
    env: [`PATH=${DEFAULT_PATH}`],
  };
  const spawnTrue = () =>
    new Promise<number>((resolve) => {
      const t0 = performance.now();
      const s = native.spawn({ plan: bare, stdio: ['null', 'null', 'null'] });
      native.watch(s.pidfd, () => resolve(performance.now() - t0));
    });
  const apiRound = async () => {
    await portFree(ctx.hostPort);
    const t0 = performance.now();
    const pod = await runPod(ctx.podFile, { root: ctx.root });
    api.returned.values.push(performance.now() - t0);
    await waitServing(ctx.hostPort, ctx.body, 30000);
    api.up.values.push(performance.now() - t0);
    await sleep(1000);
    const t1 = performance.now();
    await pod.remove({ force: true });
    api.down.values.push(performance.now() - t1);
    const node = run(process.execPath, ['-e', '0']).ms;
    let spawns = 0;
    for (let i = 0; i < 3; i++) spawns += await spawnTrue();
    floor.values.push(node + spawns);
  };
  const rounds: [Side, () => Promise<void>][] = [
    [api, apiRound],
    [m, () => round(ctx, m, () => mp.up(ctx.podFile), () => mp.helpers('web'), () => mp.down('web'))],
    [
      p,
      async () => {
        await round(ctx, p, () => pm.up(ctx.podFile), () => pm.helpers('web', ['web-http', 'web-writer']), () => pm.down(ctx.podFile));
        await pm.settle();
      },
    ],
  ];
  // one untimed round each: caches, podman's first network setup, minipod's bridge
  for (const [, go] of rounds) {
    await go();
    for (const s of [m, p, api]) for (const smp of [s.up, s.returned, s.down, s.rss, s.pss]) smp.values.length = 0;
    floor.values.length = 0;
  }
  m.parts.clear();
  p.parts.clear();
  for (let i = 0; i < ctx.runs.pod; i++) {
    const order = i % 2 ? [...rounds].reverse() : rounds;
    for (const [, go] of order) await go();
    ctx.log(`P1/P2/P5: ${i + 1}/${ctx.runs.pod} rounds`);
  }
  return {
    rows: [
      { row: 'P1 pod up, serving', a: m.up, b: p.up, goal: { max: 1 / 6, text: '≤ 1/6 of kube play' } },
      { row: 'P1 pod up, serving', a: m.returned, b: p.returned, note: 'command return only' },
      { row: 'P1 pod up, serving', a: api.up, b: p.up, goal: { max: 0.1, text: '≤ 1/10 of kube play' }, note: 'the API from a warm process' },
      { row: 'P1 pod up, serving', a: m.up, b: floor, note: 'against the floor of a CLI start' },
      { row: 'P2 pod teardown', a: m.down, b: p.down, goal: { max: 0.1, text: '≤ 1/10 of kube down' } },
      { row: 'P2 pod teardown', a: api.down, b: p.down, note: 'the API' },
      { row: 'P5 memory per pod', a: m.rss, b: p.rss, goal: { max: 1, text: '≤ podman' } },
      { row: 'P5 memory per pod', a: m.pss, b: p.pss, goal: { max: 1, text: '≤ podman' } },
    ],
    breakdown: [
      ...[...m.parts].map(([role, pssKb]) => ({ runtime: 'minipod', role, pssKb })),
      ...[...p.parts].map(([role, pssKb]) => ({ runtime: 'podman', role, pssKb })),
    ],
  };
}
