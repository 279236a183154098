// Benchmark: what cgroups and seccomp cost at start. Three rows, for their issues' goals:
//
//   C1  start overhead of cgroups per container: runPod() of a pod with 4 containers from
//       this warm process until every container runs, with cgroups and with
//       `cgroups: false`, alternating, medians of the rounds; (with - without) / 4
//       (the pod's and pause's cgroups are counted in: they are part of what a pod pays)
//   C2  `minipod top` (the command, a Node start included) with 50 running pods
//   S1  start overhead of RuntimeDefault seccomp per container: the same pod with
//       `seccompDefault: true` and without, alternating; (with - without) / 4
//
//   node --import tsx bench/cgroups.ts [--rounds 10] [--pods 50] [--out FILE]
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

const self = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(self), '..');
if (!process.env.MINIPOD_BENCH_SANDBOX) {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/cgroups.ts needs root\n');
    process.exit(2);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, MINIPOD_BENCH_SANDBOX: '1' };
  delete env.NODE_EXTRA_CA_CERTS;
  const r = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', process.execPath, ...process.execArgv, self, ...process.argv.slice(2)], { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
}

const { sandboxMounts } = (await import(path.join(repo, 'scripts', 'sandbox.mjs'))) as { sandboxMounts: () => void };
sandboxMounts();

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const rounds = Number(arg('rounds', '10'));
const npods = Number(arg('pods', '50'));
const out = arg('out', path.join(repo, 'bench', 'results', 'cgroups.md'));

const root = mkdtempSync(path.join(os.tmpdir(), 'minipod-bench-cg-'));
const own = (readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes('memory')) ?? '0::/').split(':').slice(2).join(':');
const parent = path.posix.join(own, `minipod-bench-cg-${process.pid}`);
Object.assign(process.env, { MINIPOD_ROOT: root, MINIPOD_BRIDGE: 'mpbenchcg', MINIPOD_SUBNET: '10.252.0.0/16', MINIPOD_CGROUP_PARENT: parent });
const cli = path.join(repo, 'bin', 'minipod');
const { runPod } = await import('../src/api.ts');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function busyboxTree(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-bench-cg-rootfs-'));
  spawnSync('sh', ['-c', `mkdir -p ${dir}/bin ${dir}/proc ${dir}/sys ${dir}/dev ${dir}/tmp && cp /bin/busybox ${dir}/bin/ && ln -s busybox ${dir}/bin/sh && ln -s busybox ${dir}/bin/sleep`]);
  return dir;
}

const tree = busyboxTree();
try {
  if (spawnSync(cli, ['image', 'import', 'busybox', tree], { stdio: 'inherit' }).status !== 0) throw new Error('image import failed');
  const pod = (name: string, n: number) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { terminationGracePeriodSeconds: 0, containers: Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: 'busybox', command: ['sleep', '1000'] })) },
  });
  // C1
  const withCg: number[] = [];
  const without: number[] = [];
  for (let r = -1; r < rounds; r++) {
    for (const cgroups of r % 2 ? [true, false] : [false, true]) {
      const t0 = performance.now();
      const h = await runPod(pod(`c1-${r + 1}-${cgroups}`, 4) as never, { cgroups });
      const ms = performance.now() - t0;
      await h.remove({ force: true });
      if (r >= 0) (cgroups ? withCg : without).push(ms); // round -1 warms up
    }
  }
  const perContainer = (median(withCg) - median(without)) / 4;
  // S1
  const withSc: number[] = [];
  const withoutSc: number[] = [];
  for (let r = -1; r < rounds; r++) {
    for (const seccompDefault of r % 2 ? [true, false] : [false, true]) {
      const t0 = performance.now();
      const h = await runPod(pod(`s1-${r + 1}-${seccompDefault}`, 4) as never, { seccompDefault });
      const ms = performance.now() - t0;
      await h.remove({ force: true });
      if (r >= 0) (seccompDefault ? withSc : withoutSc).push(ms);
    }
  }
  const scPerContainer = (median(withSc) - median(withoutSc)) / 4;
  // C2
  for (let i = 0; i < npods; i++) {
    const f = path.join(root, `p${i}.json`);
    writeFileSync(f, JSON.stringify(pod(`top${i}`, 1)));
    if (spawnSync(cli, ['run', '-d', f], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) throw new Error(`pod top${i} did not start`);
  }
  const topMs: number[] = [];
  for (let r = -1; r < rounds; r++) {
    const t0 = performance.now();
    const t = spawnSync(cli, ['top'], { encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (t.status !== 0 || t.stdout.trim().split('\n').length !== npods + 1) throw new Error(`top: ${t.status} ${t.stderr}`);
    if (r >= 0) topMs.push(ms);
  }
  const lines = [
    `# cgroups and seccomp: start overhead, and \`minipod top\` (bench/cgroups.ts)`,
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
    '',
    `C1 rounds (ms), with: ${withCg.map((x) => x.toFixed(1)).join(' ')}; without: ${without.map((x) => x.toFixed(1)).join(' ')}`,
    `C2 rounds (ms): ${topMs.map((x) => x.toFixed(0)).join(' ')}`,
    `S1 rounds (ms), with: ${withSc.map((x) => x.toFixed(1)).join(' ')}; without: ${withoutSc.map((x) => x.toFixed(1)).join(' ')}`,
  ];
  writeFileSync(out, lines.join('\n') + '\n');
  process.stdout.write(lines.join('\n') + '\n');
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
