// P4: N pods up, then down (N = 1, 10, 50), one command per pod as a user would script it:
// `minipod run -d` / `podman kube play` for each, then `minipod rm -f` / `podman kube down`
// for each. The pods are the bench pod renamed mpb-NN and without ports (a host port can be
// bound once; see withoutPorts). Totals, and per pod = (up + down) / N. The goal is about
// minipod's scaling: the per-pod time at 50 pods at most 1.3 times that at 1 pod.

import fs from 'node:fs';
import path from 'node:path';

import type { Ctx } from '../lib/context.ts';
import type { Minipod } from '../lib/minipod.ts';
import type { Podman } from '../lib/podman.ts';
import { sample, type Comparison, type Sample } from '../lib/result.ts';

/**
 * Drops every container's `ports:` list. Not only hostPort: podman 4.3's kube play publishes
 * a containerPort without hostPort on the same host port, so the second pod would fail
 * with "bind: address already in use".
 */
function withoutPorts(yaml: string): string {
  const out: string[] = [];
  let skipIndent = -1;
  for (const line of yaml.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (skipIndent >= 0 && (line.trim() === '' || indent > skipIndent || (indent === skipIndent && line.trimStart().startsWith('- ')))) continue;
    skipIndent = -1;
    if (/^\s*ports:\s*$/.test(line)) {
      skipIndent = indent;
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}

function podFiles(ctx: Ctx, n: number): { name: string; file: string }[] {
  const src = fs.readFileSync(ctx.podFile, 'utf8');
  const dir = path.join(ctx.work, 'many');
  fs.mkdirSync(dir, { recursive: true });
  return Array.from({ length: n }, (_, i) => {
    const name = `mpb-${String(i + 1).padStart(2, '0')}`;
    const file = path.join(dir, `${name}.yaml`);
    const text = withoutPorts(src.replace(/^ {2}name: web$/m, `  name: ${name}`));
    if (text === src || /^\s+(hostPort|containerPort):/m.test(text)) throw new Error(`cannot derive ${name} from ${ctx.podFile}`);
    fs.writeFileSync(file, text);
    return { name, file };
  });
}

interface Series {
  up: Sample;
  down: Sample;
  perPod: Sample;
}

function series(who: string, n: number): Series {
  return { up: sample(`${who}: ${n} up, total`), down: sample(`${who}: ${n} down, total`), perPod: sample(`${who}: up+down per pod, ${n} pods`) };
}

export async function manyPods(ctx: Ctx, mp: Minipod, pm: Podman, counts: number[]): Promise<Comparison[]> {
  const rows: Comparison[] = [];
  const perPod = new Map<number, { m: Sample; p: Sample }>();
  for (const n of counts) {
    const pods = podFiles(ctx, n);
    const m = series('minipod', n);
    const p = series('podman', n);
    const runMinipod = () => {
      let up = 0;
      let down = 0;
      try {
        for (const x of pods) up += mp.up(x.file);
      } finally {
        // on failure, remove what started before rethrowing (untimed)
        if (mp.pods().length !== n) mp.removeAll();
      }
      for (const x of pods) down += mp.down(x.name);
      m.up.values.push(up);
      m.down.values.push(down);
      m.perPod.values.push((up + down) / n);
    };
    const runPodman = async () => {
      let up = 0;
      let down = 0;
      try {
        for (const x of pods) up += pm.up(x.file);
      } catch (e) {
        pm.removePods(pods.map((x) => x.name));
        throw e;
      }
      for (const x of pods) down += pm.down(x.file);
      p.up.values.push(up);
      p.down.values.push(down);
      p.perPod.values.push((up + down) / n);
      await pm.settle(30000);
    };
    const runs = ctx.runs.many[n] ?? 1;
    for (let i = 0; i < runs; i++) {
      if (i % 2) {
        await runPodman();
        runMinipod();
      } else {
        runMinipod();
        await runPodman();
      }
      ctx.log(`P4: ${n} pods, ${i + 1}/${runs} rounds`);
    }
    rows.push(
      { row: `P4 ${n} pods up`, a: m.up, b: p.up },
      { row: `P4 ${n} pods down`, a: m.down, b: p.down },
      { row: `P4 ${n} pods, per pod`, a: m.perPod, b: p.perPod },
    );
    perPod.set(n, { m: m.perPod, p: p.perPod });
  }
  const lo = Math.min(...counts);
  const hi = Math.max(...counts);
  if (lo !== hi) {
    rows.push(
      { row: `P4 scaling ${hi} vs ${lo} pods`, a: perPod.get(hi)!.m, b: perPod.get(lo)!.m, goal: { max: 1.3, text: `per pod at ${hi} ≤ 1.3× at ${lo}` } },
      { row: `P4 scaling ${hi} vs ${lo} pods`, a: perPod.get(hi)!.p, b: perPod.get(lo)!.p, note: "podman's own scaling, for reference" },
    );
  }
  return rows;
}
