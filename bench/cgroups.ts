// Benchmark: what cgroups, seccomp and user namespaces cost at start. Four rows, for their
// issues' goals:
//
//   C1  start overhead of cgroups per container: runPod() of a pod with 4 containers from
//       this warm process until every container runs, with cgroups and with
//       `cgroups: false`, alternating, medians of the rounds; (with - without) / 4
//       (the pod's and pause's cgroups are counted in: they are part of what a pod pays)
//   C2  `minipod top` (the command, a Node start included) with 50 running pods
//   S1  start overhead of RuntimeDefault seccomp per container: the same pod with
//       `seccompDefault: true` and without, alternating; (with - without) / 4
//   U1  start overhead of a user namespace (hostUsers: false) per container: the same pod
//       with and without, alternating; (with - without) / 4 (the pod's namespace, made once
//       by the supervisor, and the id lease are counted in)
//
//   node --import tsx bench/cgroups.ts [--rounds 10] [--pods 50] [--rows C1,C2,S1,U1] [--out FILE]
//
// Needs root. Re-runs itself in throwaway network, mount and pid namespaces (the same
// sandbox as npm test: sysfs of its own, the cgroup hierarchies mounted again), with a
// state root, bridge, subnet and cgroup parent of its own, all removed at the end.
// NODE_EXTRA_CA_CERTS is unset (it costs ~80 ms per Node start).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { arg, inSandbox } from './lib/sandbox.ts';

const self = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(self), '..');
await inSandbox(self, 'bench/cgroups.ts');

const rounds = Number(arg('rounds', '10'));
const npods = Number(arg('pods', '50'));
const rows = arg('rows', 'C1,C2,S1,U1').split(',');
const out = arg('out', path.join(repo, 'bench', 'results', 'cgroups.md'));

const root = mkdtempSync(path.join(os.tmpdir(), 'minipod-bench-cg-'));
const own = (readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes('memory')) ?? '0::/').split(':').slice(2).join(':');
const parent = path.posix.join(own, `minipod-bench-cg-${process.pid}`);
Object.assign(process.env, { MINIPOD_ROOT: root, MINIPOD_BRIDGE: 'mpbenchcg', MINIPOD_SUBNET: '10.252.0.0/16', MINIPOD_CGROUP_PARENT: parent });
const cli = path.join(repo, 'bin', 'minipod');
const { runPod } = await import('../src/api.ts');
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : 0);

function busyboxTree(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-bench-cg-rootfs-'));
  spawnSync('sh', ['-c', `mkdir -p ${dir}/bin ${dir}/proc ${dir}/sys ${dir}/dev ${dir}/tmp && cp /bin/busybox ${dir}/bin/ && ln -s busybox ${dir}/bin/sh && ln -s busybox ${dir}/bin/sleep`]);
  return dir;
}

const tree = busyboxTree();
try {
  if (spawnSync(cli, ['image', 'import', 'busybox', tree], { stdio: 'inherit' }).status !== 0) throw new Error('image import failed');
  const pod = (name: string, n: number, hostUsers = true) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { terminationGracePeriodSeconds: 0, ...(hostUsers ? {} : { hostUsers: false }), containers: Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: 'busybox', command: ['sleep', '1000'] })) },
  });
  // C1, S1, U1: the same 4-container pod two ways, alternating (which goes first too),
  // runPod() until every container runs; round -1 warms up.
  const pair = async (row: string, on: (name: string) => Promise<{ remove(o: { force: boolean }): Promise<unknown> }>, off: (name: string) => Promise<{ remove(o: { force: boolean }): Promise<unknown> }>) => {
    const a: number[] = [];
    const b: number[] = [];
    if (!rows.includes(row)) return { a: [0], b: [0] };
    for (let r = -1; r < rounds; r++) {
      for (const first of r % 2 ? [true, false] : [false, true]) {
        const t0 = performance.now();
        const h = await (first ? on : off)(`${row.toLowerCase()}-${r + 1}-${first}`);
        const ms = performance.now() - t0;
        await h.remove({ force: true });
        if (r >= 0) (first ? a : b).push(ms);
      }
    }
    return { a, b };
  };
  const c1 = await pair('C1', (n) => runPod(pod(n, 4) as never), (n) => runPod(pod(n, 4) as never, { cgroups: false }));
  const withCg = c1.a, without = c1.b;
  const perContainer = (median(withCg) - median(without)) / 4;
  const s1 = await pair('S1', (n) => runPod(pod(n, 4) as never, { seccompDefault: true }), (n) => runPod(pod(n, 4) as never));
  const withSc = s1.a, withoutSc = s1.b;
  const scPerContainer = (median(withSc) - median(withoutSc)) / 4;
  const u1 = await pair('U1', (n) => runPod(pod(n, 4, false) as never), (n) => runPod(pod(n, 4) as never));
  const withUs = u1.a, withoutUs = u1.b;
  const usPerContainer = (median(withUs) - median(withoutUs)) / 4;
  // C2
  const topMs: number[] = [];
  if (rows.includes('C2')) {
    for (let i = 0; i < npods; i++) {
      const f = path.join(root, `p${i}.json`);
      writeFileSync(f, JSON.stringify(pod(`top${i}`, 1)));
      if (spawnSync(cli, ['run', '-d', f], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) throw new Error(`pod top${i} did not start`);
    }
    for (let r = -1; r < rounds; r++) {
      const t0 = performance.now();
      const t = spawnSync(cli, ['top'], { encoding: 'utf8' });
      const ms = performance.now() - t0;
      if (t.status !== 0 || t.stdout.trim().split('\n').length !== npods + 1) throw new Error(`top: ${t.status} ${t.stderr}`);
      if (r >= 0) topMs.push(ms);
    }
  }
  const lines = [
    `# cgroups, seccomp and user namespaces: start overhead, and \`minipod top\` (bench/cgroups.ts)`,
    '',
    `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, kernel ${os.release()}, cgroup ${readFileSync('/proc/self/mountinfo', 'utf8').includes(' - cgroup ') ? 'v1' : 'v2'}; medians of ${rounds} rounds after a warm-up.`,
    '',
    '| row | minipod | goal |',
    '|---|---:|---|',
    `| C1 runPod() of a 4-container pod until running, with cgroups | ${median(withCg).toFixed(1)} ms | |`,
    `| C1 … without cgroups (\`cgroups: false\`) | ${median(without).toFixed(1)} ms | |`,
    `| C1 cgroups' start overhead per container ((with − without) / 4) | ${perContainer.toFixed(2)} ms | ≤ 2 ms: ${perContainer <= 2 ? 'met' : '**missed**'} |`,
    `| C2 \`minipod top\` with ${npods} running pods (100 ms window included) | ${median(topMs).toFixed(0)} ms | ≤ 200 ms: ${median(topMs) <= 200 ? 'met' : '**missed**'} |`,
    `| S1 runPod() of the same pod with RuntimeDefault seccomp / without | ${median(withSc).toFixed(1)} / ${median(withoutSc).toFixed(1)} ms | |`,
    `| S1 seccomp's start overhead per container ((with − without) / 4) | ${scPerContainer.toFixed(2)} ms | ≤ 1 ms: ${scPerContainer <= 1 ? 'met' : '**missed**'} |`,
    `| U1 runPod() of the same pod with hostUsers: false / without | ${median(withUs).toFixed(1)} / ${median(withoutUs).toFixed(1)} ms | |`,
    `| U1 a user namespace's start overhead per container ((with − without) / 4) | ${usPerContainer.toFixed(2)} ms | ≤ 3 ms: ${usPerContainer <= 3 ? 'met' : '**missed**'} |`,
    '',
    `C1 rounds (ms), with: ${withCg.map((x) => x.toFixed(1)).join(' ')}; without: ${without.map((x) => x.toFixed(1)).join(' ')}`,
    `C2 rounds (ms): ${topMs.map((x) => x.toFixed(0)).join(' ')}`,
    `S1 rounds (ms), with: ${withSc.map((x) => x.toFixed(1)).join(' ')}; without: ${withoutSc.map((x) => x.toFixed(1)).join(' ')}`,
    `U1 rounds (ms), with: ${withUs.map((x) => x.toFixed(1)).join(' ')}; without: ${withoutUs.map((x) => x.toFixed(1)).join(' ')}`,
  ];
  const shown = lines.filter((l) => !/^(\| )?([CSU][12]) /.test(l) || rows.includes(/^(?:\| )?([CSU][12]) /.exec(l)![1]));
  writeFileSync(out, shown.join('\n') + '\n');
  process.stdout.write(shown.join('\n') + '\n');
} finally {
  const names = existsSync(path.join(root, 'run', 'pods')) ? readdirSync(path.join(root, 'run', 'pods')) : [];
  if (names.length) spawnSync(cli, ['rm', '-f', ...names], { stdio: 'ignore' });
  spawnSync(cli, ['network', 'rm'], { stdio: 'ignore' });
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep > 0 && /^cgroup2? /.test(line.slice(sep + 3))) {
      try {
        rmdirSync(path.join(line.slice(0, sep).split(' ')[4], parent));
      } catch {
        // not there, or not empty (then it is shown by the next run)
      }
    }
  }
  rmSync(root, { recursive: true, force: true });
  rmSync(tree, { recursive: true, force: true });
}
