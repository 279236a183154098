// Benchmark: what RuntimeDefault seccomp and a user namespace add to one container start,
// at the executor, where the difference is made (a whole pod start varies by ±15 ms from
// round to round here, far more than either costs):
//
//   S1  spawn -> exit of `true` from a container's plan, with the plan's RuntimeDefault
//       filter and without
//   U1  the same with hostUsers: false (the idmapped layer store and volumes, the join of
//       the pod's user namespace) and without; and, once per pod, the making of that
//       namespace (a child that unshares, its uid_map/gid_map written, its fd kept)
//
//   node --import tsx bench/spawn-overhead.ts [--rounds 200] [--out FILE]
//
// The plans come from planPod() for a one-container busybox pod; what belongs to a pod that
// is not there (pause's namespaces, /etc/hosts and /dev/shm binds, cgroups) is left out of
// both sides alike. Needs root; runs in throwaway namespaces with a state root of its own.

import { spawnSync } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { arg, inSandbox } from './lib/sandbox.ts';

const self = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(self), '..');
await inSandbox(self, 'bench/spawn-overhead.ts');
const rounds = Number(arg('rounds', '200'));
const out = arg('out', path.join(repo, 'bench', 'results', 'spawn-overhead.md'));

const root = mkdtempSync(path.join(os.tmpdir(), 'minipod-bench-spawn-'));
process.env.MINIPOD_ROOT = root;
const { loadNative } = await import('../src/native/load.ts');
const { planPod } = await import('../src/runtime/start.ts');
const { podDirs, stateRoots } = await import('../src/state/paths.ts');
const native = loadNative();
const roots = stateRoots(root);
const cli = path.join(repo, 'bin', 'minipod');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const BASE = 2 ** 31;

try {
  const tree = mkdtempSync(path.join(os.tmpdir(), 'minipod-bench-spawn-rootfs-'));
  spawnSync('sh', ['-c', `mkdir -p ${tree}/bin ${tree}/proc ${tree}/sys ${tree}/dev ${tree}/etc && cp /bin/busybox ${tree}/bin/ && ln -s busybox ${tree}/bin/true`]);
  if (spawnSync(cli, ['image', 'import', 'busybox', tree], { stdio: 'ignore', env: process.env }).status !== 0) throw new Error('image import failed');
  rmSync(tree, { recursive: true, force: true });

  // The user namespace, made as the supervisor makes it; timed.
  const makeUserns = (): { fd: number; ms: number } => {
    const t0 = performance.now();
    const [r, w] = native.pipe();
    const child = native.spawn({ plan: { pod: 'b', container: 'ns', namespaces: [], loopbackUp: false, mounts: [], user: { uid: 0, gid: 0, groups: [] }, capabilities: null, noNewPrivileges: false, cwd: '/', argv: ['unshare', '-U', 'sh', '-c', 'echo > /dev/stderr; read x'], env: ['PATH=/usr/bin:/bin'] }, stdio: [r, 'null', w] });
    native.close(w);
    const buf = Buffer.alloc(1);
    readSync(r, buf); // the child has unshared
    writeFileSync(`/proc/${child.pid}/uid_map`, `0 ${BASE} 65536\n`);
    writeFileSync(`/proc/${child.pid}/gid_map`, `0 ${BASE} 65536\n`);
    const fd = openSync(`/proc/${child.pid}/ns/user`, 'r');
    const ms = performance.now() - t0;
    native.signal(child.pidfd, 9);
    native.close(r);
    return { fd, ms };
  };

  const plan = (hostUsers: boolean, seccompDefault: boolean) => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b', namespace: 'default' }, spec: { restartPolicy: 'Never', ...(hostUsers ? { hostUsers: false } : {}), volumes: [{ name: 'v', emptyDir: {} }], containers: [{ name: 'c', image: 'busybox', command: ['true'], volumeMounts: [{ name: 'v', mountPath: '/v' }] }] } } as never;
    const dirs = podDirs(roots, 'b');
    const p = planPod(pod, { pod, uid: 'bench', roots, dirs, configMaps: [], secrets: [], facts: {}, cgroups: false, seccompDefault, userBase: BASE }).containers[0];
    const proc = p.process;
    proc.namespaces = proc.namespaces.filter((n) => !(n.action === 'join' && n.path.startsWith('@pause/')));
    proc.mounts = proc.mounts.filter((m) => !(m.op === 'bind' && m.source.startsWith(dirs.run)));
    return { proc, layer: p.layerDir, volume: path.join(dirs.lib, 'volumes', 'v'), owner: p.layerOwner };
  };
  const { fd: usernsFd } = makeUserns();
  const nsMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const u = makeUserns();
    closeSync(u.fd);
    nsMs.push(u.ms);
  }

  const once = (p: ReturnType<typeof plan>): Promise<number> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      try {
        const s = native.spawn({ plan: p.proc, stdio: ['null', 'null', 'null'], refs: { pod: usernsFd } });
        native.watch(s.pidfd, (e) => (e.code === 0 ? resolve(performance.now() - t0) : reject(new Error(`exit ${e.code} ${e.signal}`))));
      } catch (e) {
        reject(e);
      }
    });
  const cases = { plain: plan(false, false), seccomp: plan(false, true), userns: plan(true, false) };
  for (const c of Object.values(cases)) {
    mkdirSync(c.volume, { recursive: true });
    for (const d of ['upper-0', 'work-0', 'rootfs']) mkdirSync(path.join(c.layer, d), { recursive: true });
    if (c.owner) chownSync(path.join(c.layer, 'upper-0'), c.owner.uid, c.owner.gid);
  }
  const times: Record<string, number[]> = { plain: [], seccomp: [], userns: [] };
  for (let r = -5; r < rounds; r++) {
    // The upper is the same for both cases: give each case its own layer state first.
    for (const k of r % 2 ? ['plain', 'seccomp', 'userns'] : ['userns', 'seccomp', 'plain']) {
      const c = cases[k as keyof typeof cases];
      if (k === 'userns') chownSync(path.join(c.layer, 'upper-0'), BASE, BASE);
      else chownSync(path.join(c.layer, 'upper-0'), 0, 0);
      const ms = await once(c);
      if (r >= 0) times[k].push(ms);
    }
  }
  const plain = median(times.plain), sc = median(times.seccomp), us = median(times.userns);
  const lines = [
    '# seccomp and user namespaces at the executor: one container start (bench/spawn-overhead.ts)',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, kernel ${os.release()}; medians of ${rounds} spawns each, alternating.`,
    '',
    '| row | minipod | goal |',
    '|---|---:|---|',
    `| spawn → exit of \`true\` from a container plan (overlay root, /proc, /dev, /sys, a volume, masks) | ${plain.toFixed(2)} ms | |`,
    `| S1 … with RuntimeDefault seccomp | ${sc.toFixed(2)} ms (+${(sc - plain).toFixed(2)}) | ≤ 1 ms: ${sc - plain <= 1 ? 'met' : '**missed**'} |`,
    `| U1 … with hostUsers: false (idmapped layers and volume, user namespace join) | ${us.toFixed(2)} ms (+${(us - plain).toFixed(2)}) | ≤ 3 ms: ${us - plain <= 3 ? 'met' : '**missed**'} |`,
    `| U1 the pod's user namespace, made once per pod (here with unshare(1), exec included: the supervisor forks without an exec; median of 20) | ${median(nsMs).toFixed(2)} ms | |`,
  ];
  writeFileSync(out, lines.join('\n') + '\n');
  process.stdout.write(lines.join('\n') + '\n');
  closeSync(usernsFd);
} finally {
  spawnSync(cli, ['network', 'rm'], { stdio: 'ignore', env: process.env });
  rmSync(root, { recursive: true, force: true });
}
