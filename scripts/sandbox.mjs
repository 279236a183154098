// Inside a throwaway network + mount namespace (npm test, bench/cgroups.ts): a sysfs of this
// network namespace, its loopback up, and the host's cgroup hierarchies mounted again.
//
// The new sysfs hides the host's cgroup mounts under /sys/fs/cgroup: they are mounted again
// on a tmpfs there (a v1 hierarchy mounted again with its controllers is that same
// hierarchy; cgroup2 is the one tree), with the same symlinks (cpu -> cpu,cpuacct). Pods
// then get real cgroups; whoever runs them makes theirs under its own cgroup.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';

const run = (cmd, argv) => spawnSync(cmd, argv, { stdio: 'inherit' });

export function sandboxMounts() {
  const cg = [];
  const links = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mp = line.slice(0, sep).split(' ')[4];
    const [fstype, , opts = ''] = line.slice(sep + 3).split(' ');
    if ((fstype === 'cgroup' || fstype === 'cgroup2') && mp.startsWith('/sys/fs/cgroup')) cg.push({ mp, fstype, opts: opts.split(',').filter((o) => o !== 'rw' && o !== 'ro').join(',') });
  }
  for (const e of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup', { withFileTypes: true }) : []) {
    if (e.isSymbolicLink()) links.push([e.name, readlinkSync(`/sys/fs/cgroup/${e.name}`)]);
  }
  run('mount', ['-t', 'sysfs', 'sysfs', '/sys']);
  run('ip', ['link', 'set', 'lo', 'up']);
  if (cg.length && !cg.some((c) => c.mp === '/sys/fs/cgroup')) run('mount', ['-t', 'tmpfs', '-o', 'mode=755,size=64k', 'cgroup-root', '/sys/fs/cgroup']);
  for (const c of cg) {
    mkdirSync(c.mp, { recursive: true });
    run('mount', ['-t', c.fstype, '-o', c.opts || 'defaults', c.fstype === 'cgroup2' ? 'cgroup2' : 'cgroup', c.mp]);
  }
  for (const [name, target] of links) if (!existsSync(`/sys/fs/cgroup/${name}`)) symlinkSync(target, `/sys/fs/cgroup/${name}`);
}
