// config.json -> the ProcessPlan the pod path uses, run by the same native executor. Pure:
// the caller gives the bundle, the container's cgroup directories and the host's cgroup
// layout; nothing is read or started here. What the executor cannot do is refused, naming
// the field, rather than ignored: a container must never run with less confinement than
// its config asks for.

import path from 'node:path';

import type { CgroupLayout } from '../cgroups/layout.ts';
import { containerCgroupMounts } from '../cgroups/layout.ts';
import { ALL_CAPABILITIES, DEVICE_NODES } from '../plan/defaults.ts';
import { ociSeccomp, type OciProfile } from '../plan/seccomp.ts';
import type { MountFlag, MountOp, NamespaceOp, NamespaceType, ProcessPlan } from '../plan/types.ts';
import { ConfigError, type OciConfig, type OciMount, type OciProcess } from './config.ts';

const NS: Record<string, NamespaceType | undefined> = { pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', cgroup: 'cgroup' };

const FLAG_OPTIONS: Record<string, MountFlag | undefined> = { ro: 'ro', nosuid: 'nosuid', nodev: 'nodev', noexec: 'noexec', noatime: 'noatime', relatime: 'relatime' };
/** Options that are mount(2) flags minipod's mounts need not or cannot act on: accepted, with no effect. */
const IGNORED_OPTIONS = new Set(['rw', 'suid', 'dev', 'exec', 'atime', 'strictatime', 'nodiratime', 'diratime', 'async', 'sync', 'dirsync', 'defaults', 'remount', 'mand', 'nomand', 'silent', 'loud', 'tmpcopyup', 'private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable', 'norelatime', 'nostrictatime', 'iversion', 'noiversion']);

interface ParsedOptions {
  flags: MountFlag[];
  bind: boolean;
  recursive: boolean;
  fs: Record<string, string | true>;
}

function parseOptions(m: OciMount, field: string): ParsedOptions {
  const out: ParsedOptions = { flags: [], bind: m.type === 'bind', recursive: false, fs: {} };
  for (const o of m.options ?? []) {
    if (o === 'bind' || o === 'rbind') {
      out.bind = true;
      out.recursive ||= o === 'rbind';
    } else if (FLAG_OPTIONS[o]) {
      if (!out.flags.includes(FLAG_OPTIONS[o]!)) out.flags.push(FLAG_OPTIONS[o]!);
    } else if (o === 'idmap' || o === 'ridmap') {
      throw new ConfigError(`${field}.options`, `"${o}" (idmapped mounts in an OCI config) is not supported`);
    } else if (IGNORED_OPTIONS.has(o) || o.startsWith('x-') || o.startsWith('X-')) {
      continue;
    } else {
      const i = o.indexOf('=');
      out.fs[i < 0 ? o : o.slice(0, i)] = i < 0 ? true : o.slice(i + 1);
    }
  }
  return out;
}

function abs(p: string, field: string): string {
  if (!path.isAbsolute(p)) throw new ConfigError(field, `"${p}" must be an absolute path inside the container`);
  return path.posix.normalize(p);
}

function mountOps(config: OciConfig, bundle: string, layout: CgroupLayout | undefined): MountOp[] {
  const out: MountOp[] = [];
  let devTmpfs = false;
  (config.mounts ?? []).forEach((m, i) => {
    const field = `mounts[${i}]`;
    const dst = abs(m.destination, `${field}.destination`);
    const o = parseOptions(m, field);
    if (o.bind) {
      if (!m.source) throw new ConfigError(`${field}.source`, 'a bind mount needs a source');
      const source = path.resolve(bundle, m.source);
      out.push({ op: 'bind', source, dst, readOnly: o.flags.includes('ro'), recursive: o.recursive, ...(o.flags.filter((f) => f !== 'ro').length ? { flags: o.flags.filter((f) => f !== 'ro') } : {}) });
      return;
    }
    if (!m.type) throw new ConfigError(`${field}.type`, 'a mount needs a type (or the bind option)');
    if (m.type === 'cgroup' || m.type === 'cgroup2') {
      // The container's own cgroup namespace shows its cgroup as the root, as runc's does.
      if (!layout) throw new ConfigError(`${field}.type`, 'this host has no cgroup filesystem');
      for (const op of containerCgroupMounts(layout, !o.flags.includes('ro'))) out.push(op.op === 'mount' || op.op === 'symlink' || op.op === 'readonly' ? { ...op, dst: op.dst.replace(/^\/sys\/fs\/cgroup/, dst) } : op);
      return;
    }
    if (m.type === 'tmpfs' && dst === '/dev') devTmpfs = true;
    out.push({ op: 'mount', fstype: m.type, source: m.source ?? m.type, dst, flags: o.flags, ...(Object.keys(o.fs).length ? { options: o.fs } : {}) });
  });
  // The devices every container gets (runc's defaults) on a /dev the config mounts empty,
  // each a bind of the host's node; those of linux.devices, made with mknod.
  const listed = new Set((config.linux?.devices ?? []).map((d) => path.posix.normalize(d.path)));
  if (devTmpfs) {
    for (const name of DEVICE_NODES) if (!listed.has(`/dev/${name}`)) out.push({ op: 'bind', source: `/dev/${name}`, dst: `/dev/${name}`, readOnly: false, recursive: false, flags: ['nosuid', 'noexec'] });
    const links: [string, string][] = [['/proc/self/fd', '/dev/fd'], ['/proc/self/fd/0', '/dev/stdin'], ['/proc/self/fd/1', '/dev/stdout'], ['/proc/self/fd/2', '/dev/stderr'], ['pts/ptmx', '/dev/ptmx']];
    for (const [target, dst] of links) if (!listed.has(dst)) out.push({ op: 'symlink', target, dst });
  }
  (config.linux?.devices ?? []).forEach((d, i) => {
    const field = `linux.devices[${i}]`;
    if (d.type !== 'c' && d.type !== 'b' && d.type !== 'u' && d.type !== 'p') throw new ConfigError(`${field}.type`, `"${d.type}": a device is c, u, b or p`);
    out.push({ op: 'mknod', dst: abs(d.path, `${field}.path`), kind: d.type === 'b' ? 'b' : d.type === 'p' ? 'p' : 'c', major: d.major ?? 0, minor: d.minor ?? 0, mode: (d.fileMode ?? 0o666) & 0o7777, ...(d.uid !== undefined ? { uid: d.uid } : {}), ...(d.gid !== undefined ? { gid: d.gid } : {}) });
  });
  for (const p of config.linux?.maskedPaths ?? []) out.push({ op: 'mask', dst: abs(p, 'linux.maskedPaths') });
  for (const p of config.linux?.readonlyPaths ?? []) out.push({ op: 'readonly', dst: abs(p, 'linux.readonlyPaths') });
  return out;
}

function capabilitySets(p: OciProcess): NonNullable<ProcessPlan['capabilitySets']> {
  const c = p.capabilities ?? {};
  const set = (l: string[] | undefined, k: string) => {
    for (const name of l ?? []) if (!(ALL_CAPABILITIES as readonly string[]).includes(name)) throw new ConfigError(`process.capabilities.${k}`, `unknown capability "${name}"`);
    return [...new Set(l ?? [])];
  };
  const sets = { bounding: set(c.bounding, 'bounding'), effective: set(c.effective, 'effective'), permitted: set(c.permitted, 'permitted'), inheritable: set(c.inheritable, 'inheritable'), ambient: set(c.ambient, 'ambient') };
  // What the kernel allows: effective within permitted, ambient within permitted and inheritable.
  sets.effective = sets.effective.filter((x) => sets.permitted.includes(x));
  sets.ambient = sets.ambient.filter((x) => sets.permitted.includes(x) && sets.inheritable.includes(x));
  return sets;
}

function propagation(p: string): NonNullable<Extract<MountOp, { op: 'pivot' }>['rootPropagation']> {
  const ok = ['shared', 'slave', 'private', 'unbindable', 'rshared', 'rslave', 'rprivate', 'runbindable'] as const;
  if (!(ok as readonly string[]).includes(p)) throw new ConfigError('linux.rootfsPropagation', `"${p}" is not one of ${ok.join(', ')}`);
  return p as (typeof ok)[number];
}

export interface TranslateInput {
  config: OciConfig;
  bundle: string;
  /** The cgroup directories the init joins (oci/cgroups.ts); empty: none. */
  cgroupDirs: string[];
  layout: CgroupLayout | undefined;
  /** The LSMs of the host (an apparmorProfile or selinuxLabel the host cannot apply is refused). */
  lsms: string[];
  id: string;
}

/** The init's plan. `process` is the config's, or an exec's process.json with the same container. */
export function translateProcess(p: OciProcess | undefined, field = 'process'): Pick<ProcessPlan, 'user' | 'capabilities' | 'capabilitySets' | 'noNewPrivileges' | 'cwd' | 'argv' | 'env' | 'rlimits' | 'oomScoreAdj' | 'setsid' | 'controllingTty'> {
  if (!p) throw new ConfigError(field, 'is required');
  if (!p.args?.length) throw new ConfigError(`${field}.args`, 'needs at least one entry');
  if (!p.cwd || !path.isAbsolute(p.cwd)) throw new ConfigError(`${field}.cwd`, 'must be an absolute path');
  const u = p.user ?? { uid: 0, gid: 0 };
  const sets = capabilitySets(p);
  return {
    user: { uid: u.uid, gid: u.gid, groups: [...new Set(u.additionalGids ?? [])] },
    // The one list the executor also reads (its checks of an exec): the bounding set; what
    // the process holds is capabilitySets, exactly.
    capabilities: sets.bounding,
    capabilitySets: sets,
    noNewPrivileges: p.noNewPrivileges === true,
    cwd: p.cwd,
    argv: p.args,
    env: p.env ?? [],
    ...(p.rlimits?.length ? { rlimits: p.rlimits.map((r) => ({ type: r.type, soft: r.soft, hard: r.hard })) } : {}),
    ...(p.oomScoreAdj !== undefined ? { oomScoreAdj: p.oomScoreAdj } : {}),
    ...(p.terminal ? { setsid: true, controllingTty: true } : {}),
  };
}

export function checkLsm(p: OciProcess | undefined, lsms: string[], field = 'process'): void {
  if (p?.apparmorProfile && !lsms.includes('apparmor')) throw new ConfigError(`${field}.apparmorProfile`, `"${p.apparmorProfile}": this host has no AppArmor (its LSMs: ${lsms.join(', ') || 'none'})`);
  if (p?.selinuxLabel && !lsms.includes('selinux')) throw new ConfigError(`${field}.selinuxLabel`, `this host has no SELinux (its LSMs: ${lsms.join(', ') || 'none'})`);
}

export function translate(i: TranslateInput): ProcessPlan {
  const { config, bundle } = i;
  if (!config.ociVersion || !/^1\./.test(config.ociVersion)) throw new ConfigError('ociVersion', `"${config.ociVersion}": minipod-oci reads runtime spec 1.x`);
  if (!config.root?.path) throw new ConfigError('root.path', 'is required');
  if (config.linux?.uidMappings?.length || config.linux?.gidMappings?.length) throw new ConfigError('linux.uidMappings', 'user namespaces in an OCI config are not supported yet');
  if (config.linux?.seccomp?.listenerPath) throw new ConfigError('linux.seccomp.listenerPath', 'seccomp notify is not supported');
  if (config.linux?.intelRdt) throw new ConfigError('linux.intelRdt', 'is not supported');
  if (config.domainname) throw new ConfigError('domainname', 'is not supported yet');
  checkLsm(config.process, i.lsms);
  const namespaces: NamespaceOp[] = [];
  for (const [k, n] of (config.linux?.namespaces ?? []).entries()) {
    const type = NS[n.type];
    if (!type) throw new ConfigError(`linux.namespaces[${k}].type`, n.type === 'user' || n.type === 'time' ? `a ${n.type} namespace is not supported yet` : `unknown namespace type "${n.type}"`);
    if (namespaces.some((x) => x.type === type)) throw new ConfigError(`linux.namespaces[${k}].type`, `"${n.type}" is named twice`);
    namespaces.push(n.path ? { type, action: 'join', path: n.path } : { type, action: 'create' });
  }
  // Its mounts and pivot_root happen in that namespace: never in the runtime's own (the host's).
  if (!namespaces.some((n) => n.type === 'mnt')) throw new ConfigError('linux.namespaces', 'minipod-oci runs a container only in a mount namespace of its own (or one joined by path), never in the host\'s');
  if (config.hostname && !namespaces.some((n) => n.type === 'uts')) throw new ConfigError('hostname', 'needs a uts namespace (the host\'s would be renamed)');
  const rootfs = path.resolve(bundle, config.root.path);
  const proc = translateProcess(config.process);
  const seccomp = config.linux?.seccomp ? ociSeccomp(config.linux.seccomp as OciProfile, 'config.json', (msg) => {
    throw new ConfigError('linux.seccomp', msg);
  }) : undefined;
  return {
    pod: '',
    container: i.id,
    namespaces,
    loopbackUp: false,
    ...(config.hostname ? { hostname: config.hostname } : {}),
    mounts: [
      { op: 'propagation', mode: config.linux?.rootfsPropagation?.includes('slave') ? 'rslave' : 'rprivate' },
      { op: 'rootfs', kind: 'bind', source: rootfs, target: rootfs, readOnly: config.root.readonly === true },
      ...mountOps(config, bundle, i.layout),
      { op: 'pivot', ...(config.linux?.rootfsPropagation ? { rootPropagation: propagation(config.linux.rootfsPropagation) } : {}) },
    ],
    ...proc,
    ...(i.cgroupDirs.length ? { cgroups: i.cgroupDirs } : {}),
    ...(config.linux?.sysctl && Object.keys(config.linux.sysctl).length ? { sysctls: Object.entries(config.linux.sysctl).map(([name, value]) => ({ name, value: String(value) })) } : {}),
    ...(seccomp ? { seccomp } : {}),
  };
}
