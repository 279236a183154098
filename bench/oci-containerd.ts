// Benchmark: one container's whole life under Debian's containerd 1.6 and its runc v2 shim,
// as Kubernetes' CRI plugin drives a runtime, for minipod-oci and whichever of runc and crun
// are installed (and accept this host), in one run:
//
//   C1  `ctr run --rm` of `true`: the shim's create, start, the exit, delete (ms, end to end)
//
//   node --import tsx bench/oci-containerd.ts [--rounds 20] [--out FILE] [--hybrid-fix]
//
// containerd is the bench's own (a throwaway root, state and socket, the CRI plugin off, in
// the sandbox's network namespace: nothing is pulled; the image is an OCI archive of the
// busybox tree built here). Containers' cgroups go under this process's own. --hybrid-fix
// lets crun 1.8.1 run on a v1/v2 hybrid host (bench/lib/sandbox.ts). Needs root.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { busyboxImageArchive } from '../test/integration/oci-image.ts';
import { arg, inSandbox } from './lib/sandbox.ts';

const self = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(self), '..');
await inSandbox(self, 'bench/oci-containerd.ts');
const rounds = Number(arg('rounds', '20'));
const out = arg('out', path.join(repo, 'bench', 'results', 'oci-containerd.md'));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const have = (b: string) => spawnSync('sh', ['-c', `command -v ${b}`], { encoding: 'utf8' }).stdout.trim();
if (!have('containerd') || !have('ctr')) throw new Error('containerd is needed (scripts/setup.sh installs it)');

const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-bench-ctr-'));
const sock = path.join(dir, 'containerd.sock');
const own = (readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes('memory')) ?? '0::/').split(':').slice(2).join(':');
const cgParent = path.posix.join(own, `minipod-bench-ctr-${process.pid}`);
const image = 'docker.io/library/minipod-bench:latest';
const ctr = (args: string[]) => spawnSync('ctr', ['-a', sock, '-n', 'bench', ...args], { encoding: 'utf8', timeout: 60_000 });

writeFileSync(path.join(dir, 'config.toml'), ['version = 2', `root = "${dir}/root"`, `state = "${dir}/state"`, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]', '[grpc]', `  address = "${sock}"`, '[ttrpc]', `  address = "${sock}.ttrpc"`].join('\n') + '\n');
const ctd = spawn('containerd', ['--config', path.join(dir, 'config.toml')], { stdio: 'ignore' });
try {
  for (const deadline = Date.now() + 20_000; !(existsSync(sock) && ctr(['version']).status === 0); ) {
    if (Date.now() > deadline) throw new Error('containerd did not answer within 20 s');
    spawnSync('sleep', ['0.05']);
  }
  const imp = ctr(['image', 'import', busyboxImageArchive(dir, image)]);
  if (imp.status !== 0) throw new Error(`image import: ${imp.stderr}`);

  const runtimes: [string, string][] = [['minipod-oci', path.join(repo, 'bin', 'minipod-oci')]];
  for (const r of ['runc', 'crun']) if (have(r)) runtimes.push([r, have(r)]);
  const runOne = (bin: string, id: string) => ctr(['run', '--rm', '--runtime', 'io.containerd.runc.v2', '--runc-binary', bin, '--cgroup', `${cgParent}/${id}`, image, id, 'true']);
  const refused: string[] = [];
  for (const [name, bin] of [...runtimes]) {
    const probe = runOne(bin, `${name}-probe`);
    if (probe.status !== 0) {
      refused.push(`${name}: ${probe.stderr.trim().split('\n').pop()}`);
      runtimes.splice(runtimes.findIndex((r) => r[0] === name), 1);
      ctr(['task', 'rm', '-f', `${name}-probe`]);
      ctr(['containers', 'rm', `${name}-probe`]);
    }
  }
  const times: Record<string, number[]> = {};
  for (let r = -2; r < rounds; r++) {
    for (const [name, bin] of r % 2 ? runtimes : [...runtimes].reverse()) {
      const t0 = performance.now();
      const x = runOne(bin, `${name}-${r + 2}`);
      const ms = performance.now() - t0;
      if (x.status !== 0) throw new Error(`${name}: ${x.stderr}`);
      if (r >= 0) (times[name] ??= []).push(ms);
    }
  }
  const lines = [
    '# One container under containerd (bench/oci-containerd.ts)',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, kernel ${os.release()}; containerd ${ctr(['version']).stdout.match(/Version:\s+(\S+)/g)?.pop()?.split(/\s+/)[1] ?? '?'} with the runc v2 shim; ${rounds} rounds, runtimes alternating; \`ctr run --rm\` of \`true\` end to end (ms): containerd's own work is most of it, and it varies from run to run.`,
    '',
    '| runtime | median | p25 | p75 |',
    '|---|---:|---:|---:|',
    ...Object.entries(times).map(([n, t]) => `| ${n} | ${pct(t, 0.5).toFixed(1)} | ${pct(t, 0.25).toFixed(1)} | ${pct(t, 0.75).toFixed(1)} |`),
    '',
    ...(refused.length ? [`left out, refusing this host: ${refused.join('; ')}`, ''] : []),
  ];
  writeFileSync(out, lines.join('\n') + '\n');
  process.stdout.write(lines.join('\n') + '\n');
} finally {
  ctd.kill('SIGTERM');
  await new Promise((r) => (ctd.exitCode === null ? ctd.on('exit', r) : r(undefined)));
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((x) => x.includes(dir)).reverse()) spawnSync('umount', ['-l', l.split(' ')[4]]);
  rmSync(dir, { recursive: true, force: true });
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep > 0 && /^cgroup2? /.test(line.slice(sep + 3))) spawnSync('sh', ['-c', `find ${path.join(line.slice(0, sep).split(' ')[4], cgParent)} -depth -type d -exec rmdir {} + 2>/dev/null`]);
  }
}
