// A pod's cgroups as plan data: which directories the supervisor creates and what it writes
// into them (host operations, journaled like the rest), and which ones each process joins
// before its execve (the executor writes "0" into their cgroup.procs).
//
//   PARENT/pod-UID                  the pod: the kubelet's pod-level limits, pids.max
//   PARENT/pod-UID/pause            pause
//   PARENT/pod-UID/container-NAME   one per container: its limits, its devices (v1)
//
// PARENT is --cgroup-parent (the API's cgroupParent, MINIPOD_CGROUP_PARENT), default
// /minipod, created when missing and never removed (like podman's /libpod_parent). On v1 each
// cgroup is one directory per hierarchy; on v2 one directory, with the controllers enabled in
// every parent's cgroup.subtree_control.

import path from 'node:path';

import { FieldError, MinipodError } from '../errors.ts';
import { parseQuantity } from '../spec/quantity.ts';
import type { Container, Pod } from '../spec/types.ts';
import type { MountOp } from '../plan/types.ts';
import { cgroupDirs, containerCgroupMounts, dirFor, type CgroupLayout } from './layout.ts';
import {
  CFS_PERIOD_US,
  containerResources,
  milliToQuota,
  milliToShares,
  oomScoreAdj,
  PAUSE_OOM_SCORE_ADJ,
  podResources,
  POD_PIDS_LIMIT,
  qosClass,
  sharesToWeight,
  type QosClass,
  type Resources,
} from './resources.ts';

export const DEFAULT_CGROUP_PARENT = '/minipod';

/** One write into a cgroup's interface file; optional: a missing file is fine (memsw without swap accounting). */
export interface CgroupSetting {
  file: string;
  value: string;
  optional?: boolean;
}

/**
 * Create a cgroup directory and write its settings, in order. "parent": made when missing,
 * shared, never removed; "pod": made fresh (one that exists is refused), journaled first and
 * removed with the pod, after whatever is left in it has been killed.
 */
export interface CgroupOp {
  op: 'cgroup';
  path: string;
  create: 'parent' | 'pod';
  set: CgroupSetting[];
  /** v2: the devices its processes may open and make, as a BPF_CGROUP_DEVICE program (v1 uses devices.allow). */
  devices?: string[];
}

/** The cgroup of one container, as the supervisor uses it. */
export interface ContainerCgroup {
  version: 1 | 2;
  /** Every directory of it (v1: one per hierarchy). */
  dirs: string[];
  /** Where its OOM kills are counted (v1 memory.oom_control, v2 memory.events). */
  memory?: string;
  /** v1: the freezer directory, to stop it while killing what it left. */
  freezer?: string;
}

export interface PodCgroups {
  version: 1 | 2;
  /** The pod's cgroup, inside the hierarchy. */
  path: string;
  ops: CgroupOp[];
  pause: { dirs: string[]; oomScoreAdj: number };
  containers: Record<string, ContainerCgroup & { oomScoreAdj: number; mounts: MountOp[] }>;
  qosClass: QosClass;
}

export function checkCgroupParent(p: string): string {
  const norm = p.length > 1 ? p.replace(/\/+$/, '') : p;
  if (!norm.startsWith('/') || /(^|\/)\.\.?(\/|$)/.test(norm) || /\/\//.test(norm) || !/^[A-Za-z0-9._/@:-]+$/.test(norm)) {
    throw new MinipodError(`cgroup parent "${p}" must be an absolute cgroup path of letters, digits and . _ - @ : (e.g. /minipod)`, { code: 'ERR_USAGE', exitCode: 2 });
  }
  return norm;
}

/** Devices a container may open (v1 devices.allow): what minipod puts in its /dev, as runc allows by default. */
export const DEFAULT_DEVICES = [
  'c *:* m', // mknod of any node is allowed; opening one is what is checked
  'b *:* m',
  'c 1:3 rwm', // null
  'c 1:5 rwm', // zero
  'c 1:7 rwm', // full
  'c 1:8 rwm', // random
  'c 1:9 rwm', // urandom
  'c 5:0 rwm', // tty
  'c 5:1 rwm', // console
  'c 5:2 rwm', // ptmx
  'c 136:* rwm', // pts/*
];

function limitSettings(layout: CgroupLayout, r: Resources, controller: string, pids?: number): CgroupSetting[] {
  const out: CgroupSetting[] = [];
  const shares = milliToShares(r.cpuRequest);
  const quota = milliToQuota(r.cpuLimit);
  if (layout.version === 2) {
    out.push({ file: 'cpu.weight', value: String(sharesToWeight(shares)) });
    out.push({ file: 'cpu.max', value: `${quota ?? 'max'} ${CFS_PERIOD_US}` });
    out.push({ file: 'memory.max', value: r.memoryLimit === undefined ? 'max' : String(r.memoryLimit) });
    if (r.memoryLimit !== undefined) out.push({ file: 'memory.swap.max', value: '0', optional: true });
    if (pids) out.push({ file: 'pids.max', value: String(pids) });
    return out;
  }
  if (controller === 'cpu') {
    out.push({ file: 'cpu.shares', value: String(shares) });
    out.push({ file: 'cpu.cfs_period_us', value: String(CFS_PERIOD_US) });
    out.push({ file: 'cpu.cfs_quota_us', value: String(quota ?? -1) });
  }
  if (controller === 'memory' && r.memoryLimit !== undefined) {
    out.push({ file: 'memory.limit_in_bytes', value: String(r.memoryLimit) });
    // No swap on top of the limit, when swap is accounted (memsw must follow the limit).
    out.push({ file: 'memory.memsw.limit_in_bytes', value: String(r.memoryLimit), optional: true });
  }
  if (controller === 'pids' && pids) out.push({ file: 'pids.max', value: String(pids) });
  return out;
}

function deviceSettings(layout: CgroupLayout, controller: string, privileged: boolean): CgroupSetting[] {
  if (layout.version === 2 || controller !== 'devices' || privileged) return [];
  return [{ file: 'devices.deny', value: 'a' }, ...DEFAULT_DEVICES.map((d) => ({ file: 'devices.allow', value: d }))];
}

/** Every ancestor of cgroup, from the hierarchy's root down (v2: where subtree_control must enable the controllers). */
function ancestors(cgroup: string): string[] {
  const parts = cgroup.split('/').filter(Boolean);
  return parts.map((_, i) => '/' + parts.slice(0, i + 1).join('/'));
}

/** As the API server validates it: a request above its limit is an error. */
function checkRequests(c: Container, field: string): void {
  for (const r of ['cpu', 'memory'] as const) {
    const req = c.resources?.requests?.[r];
    const lim = c.resources?.limits?.[r];
    if (req === undefined || lim === undefined) continue;
    const a = parseQuantity(req);
    const b = parseQuantity(lim);
    if (a !== undefined && b !== undefined && a > b) throw new FieldError(`${field}.resources.requests.${r}`, `${req} must be less than or equal to the ${r} limit (${lim})`);
  }
}

export interface CgroupPlanInput {
  pod: Pod;
  uid: string;
  layout: CgroupLayout;
  parent: string;
  /** The host's memory (the Burstable oom_score_adj formula). */
  memoryCapacity: number;
  /** Without CAP_SYS_RESOURCE, oom_score_adj cannot go below 0: negative values become 0. */
  canLowerOomScore: boolean;
}

export function planCgroups(i: CgroupPlanInput): PodCgroups {
  const { layout } = i;
  const parent = checkCgroupParent(i.parent);
  const podPath = path.posix.join(parent, `pod-${i.uid}`);
  const qos = qosClass(i.pod);
  const clampOom = (v: number) => (v < 0 && !i.canLowerOomScore ? 0 : v);
  const ops: CgroupOp[] = [];
  const enable = { file: 'cgroup.subtree_control', value: '+cpu +memory +pids' };
  if (layout.version === 2) {
    // The root's subtree_control first: nothing below gets a controller its parent lacks.
    ops.push({ op: 'cgroup', path: layout.mount, create: 'parent', set: [enable] });
    for (const a of ancestors(parent)) ops.push({ op: 'cgroup', path: path.join(layout.mount, a), create: 'parent', set: [enable] });
  } else {
    for (const a of ancestors(parent)) for (const d of cgroupDirs(layout, a)) ops.push({ op: 'cgroup', path: d.dir, create: 'parent', set: [] });
  }
  const podRes = podResources(i.pod);
  for (const d of cgroupDirs(layout, podPath)) {
    ops.push({ op: 'cgroup', path: d.dir, create: 'pod', set: [...limitSettings(layout, podRes, d.controller, POD_PIDS_LIMIT), ...(layout.version === 2 ? [enable] : [])] });
  }
  const pauseDirs = cgroupDirs(layout, path.posix.join(podPath, 'pause'));
  const v2Devices = (privileged: boolean) => (layout.version === 2 && !privileged ? { devices: DEFAULT_DEVICES } : {});
  for (const d of pauseDirs) ops.push({ op: 'cgroup', path: d.dir, create: 'pod', set: deviceSettings(layout, d.controller, false), ...v2Devices(false) });
  const containers: PodCgroups['containers'] = {};
  const all: Container[] = [...(i.pod.spec.initContainers ?? []), ...i.pod.spec.containers];
  for (const [idx, c] of all.entries()) {
    const field = idx < (i.pod.spec.initContainers ?? []).length ? `spec.initContainers[${idx}]` : `spec.containers[${idx - (i.pod.spec.initContainers ?? []).length}]`;
    checkRequests(c, field);
    const cg = path.posix.join(podPath, `container-${c.name}`);
    const dirs = cgroupDirs(layout, cg);
    const r = containerResources(c);
    for (const d of dirs) {
      const privileged = c.securityContext?.privileged === true;
      ops.push({ op: 'cgroup', path: d.dir, create: 'pod', set: [...limitSettings(layout, r, d.controller), ...deviceSettings(layout, d.controller, privileged)], ...v2Devices(privileged) });
    }
    containers[c.name] = {
      version: layout.version,
      dirs: dirs.map((d) => d.dir),
      memory: dirFor(layout, cg, 'memory'),
      ...(layout.version === 1 && dirFor(layout, cg, 'freezer') ? { freezer: dirFor(layout, cg, 'freezer') } : {}),
      oomScoreAdj: clampOom(oomScoreAdj(qos, r.memoryRequest, i.memoryCapacity)),
      mounts: containerCgroupMounts(layout, c.securityContext?.privileged === true),
    };
  }
  return { version: layout.version, path: podPath, ops, pause: { dirs: pauseDirs.map((d) => d.dir), oomScoreAdj: clampOom(PAUSE_OOM_SCORE_ADJ) }, containers, qosClass: qos };
}
