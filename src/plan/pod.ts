// The plan of a whole pod: pause, then init containers, then app containers.

import path from 'node:path';

import type { Pod } from '../spec/types.ts';
import { containerPlan, type PodContext } from './container.ts';
import type { HostOp } from './host-ops.ts';
import type { PodCgroups } from '../cgroups/plan.ts';
import type { HostStep, PodPlan, ProcessPlan } from './types.ts';
import { applyUserNamespace } from './userns.ts';
import { cleanPath } from '../volumes/names.ts';

/** Kubernetes: spec.hostname, else metadata.name (both DNS labels, at most 63 chars). */
export function podHostname(pod: Pod): string {
  return (pod.spec.hostname ?? pod.metadata.name).slice(0, 63);
}

/** pause's binary inside its own root. */
export const PAUSE_PATH = '/minipod-pause';

/** Where pause's own root is attached (inside its mount namespace only). */
export function pauseRootDir(dirs: { run: string }): string {
  return path.join(dirs.run, 'pause');
}

/**
 * The infra process. It creates the pod's network, IPC and UTS namespaces and a pid
 * namespace (the pod's shared one when shareProcessNamespace is set, where it is PID 1 and
 * reaps orphans). With hostNetwork it uses the host's network and UTS.
 *
 * With shareProcessNamespace every container sees pause as PID 1, so nothing of the host
 * may be reachable through it (/proc/1/root, /proc/1/cwd): like Kubernetes' pause, which
 * runs in its own image, it gets a mount namespace of its own over an empty read-only
 * tmpfs holding only its binary. It keeps no capability, is not dumpable (pause.c) and
 * dies with its supervisor.
 */
export function pausePlan(pod: Pod, pauseBinary: string, dirs: { run: string }, hostNetwork = false): ProcessPlan {
  return {
    pod: pod.metadata.name,
    container: 'pause',
    namespaces: [
      ...(hostNetwork ? [] : [{ type: 'net' as const, action: 'create' as const }, { type: 'uts' as const, action: 'create' as const }]),
      // hostIPC / hostPID: pause stays in the host's IPC / pid namespace, and so does the pod.
      ...(pod.spec.hostIPC === true ? [] : [{ type: 'ipc' as const, action: 'create' as const }]),
      ...(pod.spec.hostPID === true ? [] : [{ type: 'pid' as const, action: 'create' as const }]),
      { type: 'mnt', action: 'create' },
    ],
    loopbackUp: !hostNetwork,
    ...(hostNetwork ? {} : { hostname: podHostname(pod) }),
    mounts: [
      { op: 'propagation', mode: 'rprivate' },
      { op: 'rootfs', kind: 'tmpfs', target: pauseRootDir(dirs), readOnly: true, flags: ['nosuid', 'nodev'], options: { mode: '755', size: '64k', nr_inodes: '16' } },
      { op: 'bind', source: pauseBinary, dst: PAUSE_PATH, readOnly: true, recursive: false, flags: ['nosuid', 'nodev'] },
      { op: 'pivot' },
    ],
    user: { uid: 0, gid: 0, groups: [] },
    capabilities: [],
    noNewPrivileges: true,
    cwd: '/',
    argv: [PAUSE_PATH],
    env: [],
    parentDeathSignal: 'SIGKILL',
  };
}

export interface PodPlanInput extends PodContext {
  pauseBinary: string;
  hostSteps?: HostStep[];
  hostOps?: HostOp[];
  /** The pod's cgroups (src/cgroups/plan.ts); absent: none. */
  cgroups?: PodCgroups;
  /** hostUsers: false: the first host id of the pod's 65536 (src/state/userns-ids.ts). */
  userBase?: number;
  /** A Job's pod (src/spec/workloads.ts): its completions and backoffLimit. */
  job?: { completions: number; backoffLimit: number };
}

/** Every process of the pod joins its cgroup: pause, each container, and what enters a container (exec probes and hooks). */
function applyCgroups(plan: PodPlan, cg: PodCgroups): PodPlan {
  plan.pause.cgroups = cg.pause.dirs;
  plan.pause.oomScoreAdj = cg.pause.oomScoreAdj;
  for (const c of [...plan.initContainers, ...plan.containers]) {
    const mine = cg.containers[c.name];
    if (!mine) continue;
    const { oomScoreAdj, mounts, ...cgroup } = mine;
    c.cgroup = cgroup;
    const join = (p: ProcessPlan) => {
      Object.assign(p, { cgroups: cgroup.dirs, oomScoreAdj });
      // What enters the container enters its cgroup namespace too.
      if (!p.namespaces.some((n) => n.type === 'cgroup')) p.namespaces.push({ type: 'cgroup', action: 'join', path: `@container:${c.name}/cgroup` });
    };
    // The container: a cgroup namespace of its own (made once it is in its cgroup, so that
    // cgroup is its root) and /sys/fs/cgroup showing it, mounted right after /sys.
    Object.assign(c.process, { cgroups: cgroup.dirs, oomScoreAdj });
    c.process.namespaces.push({ type: 'cgroup', action: 'create' });
    const sys = c.process.mounts.findIndex((m) => m.op === 'mount' && m.dst === '/sys');
    if (sys >= 0) c.process.mounts.splice(sys + 1, 0, ...mounts);
    const walk = (v: unknown): void => {
      if (!v || typeof v !== 'object') return;
      const h = v as { kind?: string; process?: ProcessPlan };
      if (h.kind === 'exec' && h.process) join(h.process);
      for (const x of Object.values(v)) walk(x);
    };
    walk(c.probes);
    walk(c.hooks);
  }
  plan.cgroups = { version: cg.version, path: cg.path, qosClass: cg.qosClass, ops: cg.ops };
  return plan;
}

export function buildPodPlan(input: PodPlanInput): PodPlan {
  const { pod } = input;
  const hostNetwork = pod.spec.hostNetwork === true;
  const plan: PodPlan = {
    pod: pod.metadata.name,
    uid: input.uid,
    namespace: pod.metadata.namespace ?? 'default',
    dirs: input.dirs,
    pause: pausePlan(pod, input.pauseBinary, input.dirs, hostNetwork),
    initContainers: (pod.spec.initContainers ?? []).map((c, i) => containerPlan(input, c, `spec.initContainers[${i}]`, true)),
    containers: pod.spec.containers.map((c, i) => containerPlan(input, c, `spec.containers[${i}]`, false)),
    hostSteps: input.hostSteps ?? [],
    hostOps: input.hostOps ?? [],
    terminationGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds ?? 30,
    restartPolicy: pod.spec.restartPolicy ?? 'Always',
    ...(pod.spec.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: pod.spec.activeDeadlineSeconds } : {}),
  };
  if (input.job) {
    // The supervisor re-runs a Job's containers itself (completions, backoffLimit).
    plan.job = { ...input.job };
    for (const c of plan.containers) c.restartPolicy = 'Never';
  }
  const withCgroups = input.cgroups ? applyCgroups(plan, input.cgroups) : plan;
  if (pod.spec.hostUsers !== false) return withCgroups;
  if (input.userBase === undefined) throw new Error('a pod with hostUsers: false needs its ids (userBase)');
  const hostPaths = (pod.spec.volumes ?? []).flatMap((v) => (v.hostPath ? [cleanPath(v.hostPath.path)] : []));
  return applyUserNamespace(withCgroups, input.userBase, hostPaths);
}
