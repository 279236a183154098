// Which cgroup hierarchies this host has, read from /proc/self/mountinfo (no root needed):
//
//   v1 (or the v1/v2 hybrid of a host without systemd's unified layout): one mount per
//      controller or co-mounted set ("cpu,cpuacct"), each with its own tree of cgroups;
//      a cgroup2 mount beside them (e.g. /sys/fs/cgroup/unified) is not used.
//   v2: one cgroup2 mount; the controllers of a cgroup are listed in cgroup.controllers.
//
// A v1 controller wins over v2: on a hybrid host the v1 hierarchies hold cpu and memory.

import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import type { MountFlag, MountOp } from '../plan/types.ts';

/** The controllers minipod uses. cpuacct gives CPU usage on v1 (`top`). */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'devices', 'freezer'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export type CgroupLayout =
  | {
      version: 1;
      /** controller -> mount point of its hierarchy */
      mounts: Partial<Record<V1Controller, string>>;
      /** mount point -> every controller (and name=) of that hierarchy: what mounting it again takes */
      options?: Record<string, string[]>;
    }
  | { version: 2; mount: string };

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** glibc's dev_t of major:minor (gnu_dev_makedev), as stat gives it. */
function makedev(major: bigint, minor: bigint): bigint {
  return ((major & 0xfffff000n) << 32n) | ((major & 0xfffn) << 8n) | ((minor & 0xffffff00n) << 12n) | (minor & 0xffn);
}

/**
 * Whether the mount listed with this major:minor is what the path shows now: a cgroup mount
 * hidden under a later one at or above its path (a namespace that mounted /sys again) is not
 * a hierarchy of this process's.
 */
export function reachable(devno: string, mountPoint: string): boolean {
  const m = /^(\d+):(\d+)$/.exec(devno);
  if (!m) return false;
  try {
    return statSync(mountPoint, { bigint: true }).dev === makedev(BigInt(m[1]), BigInt(m[2]));
  } catch {
    return false;
  }
}

/**
 * The layout described by a mountinfo text; undefined when there is no cgroup filesystem.
 * check(devno, mountPoint): false skips a cgroup mount (hostLayout: the hidden ones).
 */
export function parseLayout(mountinfo: string, check?: (devno: string, mountPoint: string) => boolean): CgroupLayout | undefined {
  const v1: Partial<Record<V1Controller, string>> = {};
  const options: Record<string, string[]> = {};
  let v2: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    const mountPoint = unescape(fields[4] ?? '');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if ((fstype === 'cgroup' || fstype === 'cgroup2') && check && !check(fields[2] ?? '', mountPoint)) continue;
    if (fstype === 'cgroup2' && !v2) v2 = mountPoint;
    if (fstype !== 'cgroup') continue;
    options[mountPoint] = superOpts.split(',').filter((o) => o !== 'rw' && o !== 'ro');
    for (const opt of superOpts.split(',')) {
      if ((V1_CONTROLLERS as readonly string[]).includes(opt) && !v1[opt as V1Controller]) v1[opt as V1Controller] = mountPoint;
    }
  }
  if (v1.memory || v1.cpu) return { version: 1, mounts: v1, options };
  return v2 ? { version: 2, mount: v2 } : undefined;
}

export function hostLayout(): CgroupLayout | undefined {
  return parseLayout(readFileSync('/proc/self/mountinfo', 'utf8'), reachable);
}

/**
 * The directories of one cgroup (a path inside the hierarchy, e.g. /minipod/pod-X/web): one
 * per v1 hierarchy minipod uses (co-mounted controllers share one), or the one v2 directory.
 */
export function cgroupDirs(layout: CgroupLayout, cgroup: string): { controller: string; dir: string }[] {
  if (layout.version === 2) return [{ controller: 'unified', dir: path.join(layout.mount, cgroup) }];
  const seen = new Map<string, string>();
  for (const c of V1_CONTROLLERS) {
    const m = layout.mounts[c];
    if (m && !seen.has(m)) seen.set(m, c);
  }
  return [...seen].map(([mount, controller]) => ({ controller, dir: path.join(mount, cgroup) }));
}

/**
 * How a container sees its cgroups: a read-only /sys/fs/cgroup in its own cgroup namespace,
 * so the hierarchies show its own cgroup as their root (as Kubernetes does). v1: a tmpfs
 * with each hierarchy minipod uses mounted again (with all of that hierarchy's options)
 * and made read-only; v2: the one cgroup2 mount.
 */
export function containerCgroupMounts(layout: CgroupLayout, privileged: boolean): MountOp[] {
  const flags: MountFlag[] = privileged ? ['nosuid', 'nodev', 'noexec'] : ['ro', 'nosuid', 'nodev', 'noexec'];
  if (layout.version === 2) return [{ op: 'mount', fstype: 'cgroup2', source: 'cgroup2', dst: '/sys/fs/cgroup', flags }];
  const ops: MountOp[] = [{ op: 'mount', fstype: 'tmpfs', source: 'cgroup', dst: '/sys/fs/cgroup', flags: ['nosuid', 'nodev', 'noexec'], options: { mode: '755', size: '64k' } }];
  const seen = new Set<string>();
  for (const c of V1_CONTROLLERS) {
    const m = layout.mounts[c];
    if (!m || seen.has(m)) continue;
    seen.add(m);
    const opts = layout.options?.[m] ?? [c];
    ops.push({ op: 'mount', fstype: 'cgroup', source: 'cgroup', dst: path.join('/sys/fs/cgroup', path.basename(m)), flags, options: Object.fromEntries(opts.map((o) => (o.includes('=') ? o.split('=', 2) : [o, true]))) });
    // cpu,cpuacct is also reachable as cpu and cpuacct, as on the host.
    const base = path.basename(m);
    if (base.includes(',')) for (const part of base.split(',')) ops.push({ op: 'symlink', target: base, dst: path.join('/sys/fs/cgroup', part) });
  }
  if (!privileged) ops.push({ op: 'readonly', dst: '/sys/fs/cgroup' });
  return ops;
}

/** The dir of a cgroup in the hierarchy that holds controller (v2: the one dir). */
export function dirFor(layout: CgroupLayout, cgroup: string, controller: V1Controller): string | undefined {
  if (layout.version === 2) return path.join(layout.mount, cgroup);
  const m = layout.mounts[controller];
  return m ? path.join(m, cgroup) : undefined;
}

/** The cgroup (path inside the hierarchy) of a process, from /proc/PID/cgroup text. */
export function ownCgroup(procCgroup: string, layout: CgroupLayout): string {
  for (const line of procCgroup.split('\n')) {
    const [id, ctrls, p] = line.split(':', 3);
    if (p === undefined) continue;
    if (layout.version === 2 ? id === '0' && ctrls === '' : ctrls.split(',').includes('memory')) return p;
  }
  return '/';
}
