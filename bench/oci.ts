// Benchmark: one container's lifecycle through the runc command line, as containerd's shim
// drives it, for minipod-oci and whichever of crun and runc are installed, in one run:
//
//   O1  create, start, (the container's `true` ends), delete: each verb's time and the sum
//
//   node --import tsx bench/oci.ts [--rounds 30] [--out FILE] [--hybrid-fix]
//
// The same bundle for every runtime (a busybox rootfs, a config.json with new pid, ipc,
// uts, mount and network namespaces, proc, a tmpfs /dev, a cgroup under this process's
// own). Needs root; runs in throwaway namespaces (the same sandbox as npm test) with state
// roots of its own, all removed at the end. NODE_EXTRA_CA_CERTS is unset. --hybrid-fix lets
// crun 1.8.1 run on a v1/v2 hybrid host (bench/lib/sandbox.ts).

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { arg, inSandbox } from './lib/sandbox.ts';

const self = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(self), '..');
await inSandbox(self, 'bench/oci.ts');
const rounds = Number(arg('rounds', '30'));
const out = arg('out', path.join(repo, 'bench', 'results', 'oci.md'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = mkdtempSync(path.join(os.tmpdir(), 'minipod-bench-oci-'));
const own = (readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes('memory')) ?? '0::/').split(':').slice(2).join(':');
const cg = path.posix.join(own, `minipod-bench-oci-${process.pid}`);
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
if (!busybox) throw new Error('busybox-static is needed');
const bundle = path.join(work, 'bundle');
spawnSync('sh', ['-c', `mkdir -p ${bundle}/rootfs/bin ${bundle}/rootfs/proc ${bundle}/rootfs/dev ${bundle}/rootfs/sys ${bundle}/rootfs/tmp && cp ${busybox} ${bundle}/rootfs/bin/busybox && ln -s busybox ${bundle}/rootfs/bin/true && ln -s busybox ${bundle}/rootfs/bin/sh`]);
const config = {
  ociVersion: '1.0.2',
  process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['true'], env: ['PATH=/bin'], cwd: '/', capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] }, noNewPrivileges: true },
  root: { path: 'rootfs', readonly: true },
  hostname: 'bench',
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
  ],
  linux: { namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }], cgroupsPath: '', maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'] },
};

const runtimes: [string, string][] = [['minipod-oci', path.join(repo, 'bin', 'minipod-oci')]];
for (const r of ['crun', 'runc']) {
  const p = spawnSync('sh', ['-c', `command -v ${r}`], { encoding: 'utf8' }).stdout.trim();
  if (p) runtimes.push([r, p]);
}

/** A runtime that refuses this host (crun 1.8.1 and a v1/v2 hybrid) is left out, with its words. */
const refused: string[] = [];
for (const [name, bin] of [...runtimes]) {
  const root = path.join(work, `root-${name}`);
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ...config, linux: { ...config.linux, cgroupsPath: `${cg}/${name}-probe` } }));
  const fd = openSync(path.join(work, 'probe.err'), 'w');
  const x = spawnSync(bin, ['--root', root, 'create', '--bundle', bundle, 'probe'], { stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  if (x.status !== 0) {
    refused.push(`${name}: ${readFileSync(path.join(work, 'probe.err'), 'utf8').trim().split('\n').pop()}`);
    runtimes.splice(runtimes.findIndex((r) => r[0] === name), 1);
  }
  spawnSync(bin, ['--root', root, 'delete', '--force', 'probe'], { stdio: 'ignore' });
}

const verbs = ['create', 'start', 'delete'] as const;
const times: Record<string, Record<string, number[]>> = {};
// stdio to files, never pipes: the container inherits them, and a pipe would keep the
// caller waiting until the container ends (the shim passes its own fds, the same way).
const errFile = path.join(work, 'stderr');
try {
  for (let r = -2; r < rounds; r++) {
    for (const [name, bin] of r % 2 ? runtimes : [...runtimes].reverse()) {
      const root = path.join(work, `root-${name}`);
      const id = `b${r + 2}`;
      writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ...config, linux: { ...config.linux, cgroupsPath: `${cg}/${name}-${id}` } }));
      const t: Record<string, number> = {};
      const call = (verb: string, args: string[]) => {
        const t0 = performance.now();
        const fd = openSync(errFile, 'w');
        const x = spawnSync(bin, ['--root', root, verb, ...args], { stdio: ['ignore', 'ignore', fd] });
        closeSync(fd);
        t[verb] = performance.now() - t0;
        if (x.status !== 0) throw new Error(`${name} ${verb}: ${readFileSync(errFile, 'utf8')}`);
      };
      call('create', ['--bundle', bundle, id]);
      call('start', [id]);
      // `true` ends at once; the state says so once it is gone.
      for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
        const s = spawnSync(bin, ['--root', root, 'state', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        if (/"status":\s*"stopped"/.test(s.stdout)) break;
      }
      call('delete', [id]);
      if (r < 0) continue;
      times[name] ??= { create: [], start: [], delete: [], total: [] };
      for (const v of verbs) times[name][v].push(t[v]);
      times[name].total.push(t.create + t.start + t.delete);
    }
  }
  const lines = [
    '# One container through the runc command line (bench/oci.ts)',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, kernel ${os.release()}; medians of ${rounds} rounds, runtimes alternating; create, start and delete of \`true\` (ms).`,
    '',
    `| runtime | create | start | delete | sum |`,
    '|---|---:|---:|---:|---:|',
    ...Object.entries(times).map(([n, t]) => `| ${n} | ${median(t.create).toFixed(1)} | ${median(t.start).toFixed(1)} | ${median(t.delete).toFixed(1)} | ${median(t.total).toFixed(1)} |`),
    '',
    ...(refused.length ? [`left out, refusing this host: ${refused.join('; ')}`, ''] : []),
    `versions: ${runtimes.map(([n, b]) => `${n}: ${spawnSync(b, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]}`).join('; ')}`,
  ];
  writeFileSync(out, lines.join('\n') + '\n');
  process.stdout.write(lines.join('\n') + '\n');
} finally {
  for (const d of cgroupDirs()) spawnSync('sh', ['-c', `find ${d} -depth -type d -exec rmdir {} + 2>/dev/null`]);
  rmSync(work, { recursive: true, force: true });
}

function cgroupDirs(): string[] {
  const dirs: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep > 0 && /^cgroup2? /.test(line.slice(sep + 3))) dirs.push(path.join(line.slice(0, sep).split(' ')[4], cg));
  }
  return dirs;
}
