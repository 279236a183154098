// An OCI container's cgroup: linux.cgroupsPath on this host's hierarchies (cgroupfs; the
// systemd driver's "slice:prefix:name" is refused), made before the init starts and given
// linux.resources; the init joins it first thing (the executor), so the shim finds it in
// /proc/PID/cgroup once create returns, as it expects.

import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { cgroupDirs, type CgroupLayout } from '../cgroups/layout.ts';
import { ConfigError, type OciResources } from './config.ts';

/** The cgroup path inside the hierarchies: cgroupsPath, or /minipod-oci/ID. */
export function cgroupPathOf(cgroupsPath: string | undefined, id: string, systemd: boolean): string {
  if (systemd || (cgroupsPath && /^[^/][^:]*:[^:]*:[^:]*$/.test(cgroupsPath))) throw new ConfigError('linux.cgroupsPath', `"${cgroupsPath}": the systemd cgroup driver is not supported (this host has no systemd); use cgroupfs paths`);
  const p = cgroupsPath ? (path.isAbsolute(cgroupsPath) ? cgroupsPath : `/minipod-oci/${cgroupsPath}`) : `/minipod-oci/${id}`;
  const n = path.posix.normalize(p);
  if (n === '/' || n.split('/').includes('..')) throw new ConfigError('linux.cgroupsPath', `"${cgroupsPath}" must name a cgroup below the root`);
  return n;
}

/**
 * The devices every container may use whatever its config's rules say, after them (runc's
 * AllowedDevices): mknod of any, the standard nodes, ptys, tun. linux.devices of the config
 * are allowed by the caller too (they are made in the container).
 */
const DEFAULT_ALLOWED: NonNullable<OciResources['devices']> = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  ...[[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [10, 200]].map(([major, minor]) => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];

/** What to write where, for the resources the config sets (file names relative to each dir). */
export function resourceWrites(layout: CgroupLayout, r: OciResources | undefined): { controller: string; file: string; value: string }[] {
  const out: { controller: string; file: string; value: string }[] = [];
  if (!r) return out;
  const v2 = layout.version === 2;
  const cpu = r.cpu;
  if (cpu?.shares !== undefined) out.push(v2 ? { controller: 'cpu', file: 'cpu.weight', value: String(Math.max(1, Math.min(10000, 1 + Math.floor(((cpu.shares - 2) * 9999) / 262142)))) } : { controller: 'cpu', file: 'cpu.shares', value: String(cpu.shares) });
  if (cpu?.period !== undefined && !v2) out.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(cpu.period) });
  if (cpu?.quota !== undefined) out.push(v2 ? { controller: 'cpu', file: 'cpu.max', value: `${cpu.quota > 0 ? cpu.quota : 'max'} ${cpu.period ?? 100000}` } : { controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(cpu.quota) });
  const mem = r.memory;
  if (mem?.limit !== undefined) out.push({ controller: 'memory', file: v2 ? 'memory.max' : 'memory.limit_in_bytes', value: mem.limit > 0 ? String(mem.limit) : v2 ? 'max' : '-1' });
  if (mem?.swap !== undefined && mem.swap !== 0) out.push(v2 ? { controller: 'memory', file: 'memory.swap.max', value: mem.swap > 0 && mem.limit ? String(Math.max(0, mem.swap - mem.limit)) : 'max' } : { controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(mem.swap) });
  if (r.pids?.limit !== undefined) out.push({ controller: 'pids', file: 'pids.max', value: r.pids.limit > 0 ? String(r.pids.limit) : 'max' });
  if (!v2) {
    for (const d of [...(r.devices ?? []), ...(r.devices?.length ? DEFAULT_ALLOWED : [])]) {
      const rule = `${d.type ?? 'a'} ${d.type === 'a' || d.type === undefined ? '*:*' : `${d.major ?? '*'}:${d.minor ?? '*'}`} ${d.access ?? 'rwm'}`;
      out.push({ controller: 'devices', file: d.allow ? 'devices.allow' : 'devices.deny', value: (d.type === undefined || d.type === 'a') && (d.access ?? 'rwm') === 'rwm' ? 'a' : rule });
    }
  }
  for (const [file, value] of Object.entries(r.unified ?? {})) {
    if (!v2) throw new ConfigError('linux.resources.unified', 'needs a cgroup v2 host');
    if (file.includes('/') || file.startsWith('.')) throw new ConfigError('linux.resources.unified', `"${file}" is not a cgroup file name`);
    out.push({ controller: 'unified', file, value });
  }
  return out;
}

/** Makes the container's cgroup in every hierarchy and applies its resources; its dirs. */
export function makeCgroup(layout: CgroupLayout, cg: string, r: OciResources | undefined): string[] {
  const dirs = cgroupDirs(layout, cg);
  if (layout.version === 2) {
    // Every controller the parent can give, enabled on the way down (v2 delegation).
    const parts = cg.split('/').filter(Boolean);
    let at = layout.mount;
    for (const part of parts) {
      const ctrls = readFileSync(path.join(at, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
      try {
        if (ctrls.length) writeFileSync(path.join(at, 'cgroup.subtree_control'), ctrls.map((c) => `+${c}`).join(' '));
      } catch {
        // a parent with processes of its own cannot delegate: limits there stay unset
      }
      at = path.join(at, part);
      mkdirSync(at, { recursive: true });
    }
  } else {
    for (const d of dirs) mkdirSync(d.dir, { recursive: true });
  }
  const byController = new Map(dirs.map((d) => [d.controller, d.dir]));
  for (const w of resourceWrites(layout, r)) {
    const dir = layout.version === 2 ? dirs[0].dir : layout.mounts[w.controller as 'cpu'] ? path.join(layout.mounts[w.controller as 'cpu']!, cg) : byController.get(w.controller);
    if (!dir) continue; // a controller this host does not have mounted
    const file = path.join(dir, w.file);
    if (!existsSync(file)) {
      if (w.file.startsWith('memory.memsw') || w.file === 'memory.swap.max') continue; // no swap accounting here
      throw new ConfigError('linux.resources', `${file} does not exist on this host`);
    }
    writeFileSync(file, w.value);
  }
  return dirs.map((d) => d.dir);
}

/**
 * Removes the container's cgroup directories; false when one is still busy. The default
 * parent (/minipod-oci, made by create) goes too once no container is left in it.
 */
export function removeCgroup(dirs: string[], cg?: string): boolean {
  let ok = true;
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
    }
    if (ok && cg?.startsWith('/minipod-oci/')) {
      for (let up = path.dirname(d), n = cg.split('/').length - 2; n > 0; up = path.dirname(up), n--) {
        try {
          rmdirSync(up);
        } catch {
          break; // another container's, or gone
        }
      }
    }
  }
  return ok;
}

/** Where pause and resume find the container's freezer (native/oci): v1 freezer.state or v2 cgroup.freeze in dir. */
export function freezerOf(layout: CgroupLayout, cg: string): { v2: boolean; dir: string } | undefined {
  if (layout.version === 2) return { v2: true, dir: path.join(layout.mount, cg) };
  return layout.mounts.freezer ? { v2: false, dir: path.join(layout.mounts.freezer, cg) } : undefined;
}
