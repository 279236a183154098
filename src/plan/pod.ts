// The plan of a whole pod: pause, then init containers, then app containers.

import type { Pod } from '../spec/types.ts';
import { containerPlan, type PodContext } from './container.ts';
import type { HostStep, PodPlan, ProcessPlan } from './types.ts';

/** Kubernetes: spec.hostname, else metadata.name (both DNS labels, at most 63 chars). */
export function podHostname(pod: Pod): string {
  return (pod.spec.hostname ?? pod.metadata.name).slice(0, 63);
}

/**
 * The infra process. It creates the pod's network, IPC and UTS namespaces and a pid
 * namespace (the pod's shared one when shareProcessNamespace is set, where it is PID 1 and
 * reaps orphans). It stays in the host's mount namespace and needs no rootfs: it only
 * exists to hold namespaces. With hostNetwork it uses the host's network and UTS.
 */
export function pausePlan(pod: Pod, pauseBinary: string, hostNetwork = false): ProcessPlan {
  return {
    pod: pod.metadata.name,
    container: 'pause',
    namespaces: [
      ...(hostNetwork ? [] : [{ type: 'net' as const, action: 'create' as const }, { type: 'uts' as const, action: 'create' as const }]),
      { type: 'ipc', action: 'create' },
      { type: 'pid', action: 'create' },
    ],
    loopbackUp: !hostNetwork,
    ...(hostNetwork ? {} : { hostname: podHostname(pod) }),
    mounts: [],
    user: { uid: 0, gid: 0, groups: [] },
    capabilities: [],
    noNewPrivileges: true,
    cwd: '/',
    argv: [pauseBinary],
    env: [],
  };
}

export interface PodPlanInput extends PodContext {
  pauseBinary: string;
  hostSteps?: HostStep[];
}

export function buildPodPlan(input: PodPlanInput): PodPlan {
  const { pod } = input;
  const hostNetwork = pod.spec.hostNetwork === true;
  return {
    pod: pod.metadata.name,
    uid: input.uid,
    namespace: pod.metadata.namespace ?? 'default',
    dirs: input.dirs,
    pause: pausePlan(pod, input.pauseBinary, hostNetwork),
    initContainers: (pod.spec.initContainers ?? []).map((c, i) => containerPlan(input, c, `spec.initContainers[${i}]`, true)),
    containers: pod.spec.containers.map((c, i) => containerPlan(input, c, `spec.containers[${i}]`, false)),
    hostSteps: input.hostSteps ?? [],
    terminationGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds ?? 30,
    restartPolicy: pod.spec.restartPolicy ?? 'Always',
  };
}
