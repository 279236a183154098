// What a pod uses, read from its cgroups (no root needed beyond reading them): CPU time and
// the memory working set, as kubectl top and the kubelet's summary API report them.
//
//   CPU      v1 cpuacct.usage (ns), v2 cpu.stat usage_usec; millicores = Δusage / Δtime
//            over a short window
//   memory   the working set: usage minus inactive file pages (v1 memory.usage_in_bytes -
//            total_inactive_file, v2 memory.current - inactive_file), as cAdvisor computes it

import { readFileSync } from 'node:fs';
import path from 'node:path';

import type { PodPlan } from '../plan/types.ts';
import { dirFor, hostLayout, type CgroupLayout } from './layout.ts';

export interface Usage {
  /** CPU time used so far, ns. */
  cpuNs: number;
  memoryWorkingSetBytes: number;
}

function num(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function statField(file: string, key: string): number | undefined {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The usage of one cgroup (a path inside the hierarchy), or undefined when it is gone. */
export function cgroupUsage(layout: CgroupLayout, cgroup: string): Usage | undefined {
  if (layout.version === 2) {
    const dir = path.join(layout.mount, cgroup);
    const usec = statField(path.join(dir, 'cpu.stat'), 'usage_usec');
    const mem = num(path.join(dir, 'memory.current'));
    if (usec === undefined || mem === undefined) return undefined;
    return { cpuNs: usec * 1000, memoryWorkingSetBytes: Math.max(0, mem - (statField(path.join(dir, 'memory.stat'), 'inactive_file') ?? 0)) };
  }
  const cpu = dirFor(layout, cgroup, 'cpuacct');
  const memDir = dirFor(layout, cgroup, 'memory');
  const ns = cpu ? num(path.join(cpu, 'cpuacct.usage')) : undefined;
  const mem = memDir ? num(path.join(memDir, 'memory.usage_in_bytes')) : undefined;
  if (ns === undefined || mem === undefined) return undefined;
  return { cpuNs: ns, memoryWorkingSetBytes: Math.max(0, mem - (statField(path.join(memDir!, 'memory.stat'), 'total_inactive_file') ?? 0)) };
}

export interface PodUsage extends Usage {
  containers: ({ name: string } & Usage)[];
}

/** Where a pod's cgroups are: its host record says (src/state/host.ts), or its plan. */
export interface PodCgroupRef {
  version: 1 | 2;
  path: string;
  containers: string[];
}

export function cgroupRefOf(plan: PodPlan): PodCgroupRef | undefined {
  return plan.cgroups && { version: plan.cgroups.version, path: plan.cgroups.path, containers: [...plan.initContainers, ...plan.containers].map((c) => c.name) };
}

/** The pod's and each container's usage now; undefined for a pod without cgroups. */
export function podUsage(ref: PodCgroupRef | undefined, layout = hostLayout()): PodUsage | undefined {
  if (!ref || !layout || layout.version !== ref.version) return undefined;
  const pod = cgroupUsage(layout, ref.path);
  if (!pod) return undefined;
  const containers = ref.containers.flatMap((name) => {
    const u = cgroupUsage(layout, path.posix.join(ref.path, `container-${name}`));
    return u ? [{ name, ...u }] : [];
  });
  return { ...pod, containers };
}

export interface Rate {
  cpuMillicores: number;
  memoryWorkingSetBytes: number;
}

/** Millicores between two samples taken ms apart; the memory of the second. */
export function rate(a: Usage, b: Usage, ms: number): Rate {
  return { cpuMillicores: Math.max(0, Math.round((b.cpuNs - a.cpuNs) / (ms * 1000))), memoryWorkingSetBytes: b.memoryWorkingSetBytes };
}
