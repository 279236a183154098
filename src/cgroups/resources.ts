// Kubernetes' resource arithmetic, as the kubelet does it (pkg/kubelet/cm: helpers_linux.go,
// qos/policy.go, and the QoS class of pkg/apis/core/v1/helper/qos):
//
//   requests.cpu  -> cpu.shares = milli * 1024 / 1000 (at least 2; BestEffort pods get 2)
//                    cpu.weight (v2) = 1 + (shares - 2) * 9999 / 262142, as runc converts it
//   limits.cpu    -> CFS quota = milli * 100 ms / 1000 (at least 1 ms) per 100 ms period
//   limits.memory -> memory.limit_in_bytes / memory.max, and no swap on top (memsw / swap.max 0)
//   pod level     -> requests summed; a limit only when every container has one (summed)
//   init containers: the pod's effective request/limit is max(any init container, sum of apps)
//   oom_score_adj -> Guaranteed -997, BestEffort 1000, Burstable 1000 - 1000*request/capacity
//                    clamped to [2, 999]; pause -998
// A request left out defaults to the limit, as the API server defaults it.

import { parseQuantity } from '../spec/quantity.ts';
import type { Container, Pod } from '../spec/types.ts';

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

export interface Resources {
  /** millicores */
  cpuRequest?: number;
  cpuLimit?: number;
  /** bytes */
  memoryRequest?: number;
  memoryLimit?: number;
}

const q = (v: string | number | undefined) => (v === undefined ? undefined : parseQuantity(v));

export function containerResources(c: Container): Resources {
  const l = c.resources?.limits ?? {};
  const r = c.resources?.requests ?? {};
  const cpuLimit = q(l.cpu);
  const memoryLimit = q(l.memory);
  const milli = (v: number | undefined) => (v === undefined ? undefined : Math.ceil(v * 1000 - 1e-9));
  return {
    cpuLimit: milli(cpuLimit),
    cpuRequest: milli(q(r.cpu) ?? cpuLimit),
    memoryLimit: memoryLimit === undefined ? undefined : Math.floor(memoryLimit),
    memoryRequest: (() => {
      const v = q(r.memory) ?? memoryLimit;
      return v === undefined ? undefined : Math.floor(v);
    })(),
  };
}

export function qosClass(pod: Pod): QosClass {
  const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const set = (c: Container) => ({ ...(c.resources?.requests ?? {}), ...(c.resources?.limits ?? {}) });
  if (all.every((c) => !Object.keys(set(c)).some((k) => k === 'cpu' || k === 'memory'))) return 'BestEffort';
  const guaranteed = all.every((c) => {
    const r = containerResources(c);
    return r.cpuLimit !== undefined && r.memoryLimit !== undefined && r.cpuRequest === r.cpuLimit && r.memoryRequest === r.memoryLimit;
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * The pod's effective resources, as the kubelet sizes the pod's cgroup: requests are the sum
 * over app containers, or the largest init container's when that is more; a limit exists
 * only when every container (init ones too) has one, and is max(sum of apps, largest init).
 */
export function podResources(pod: Pod): Resources {
  const apps = pod.spec.containers.map(containerResources);
  const inits = (pod.spec.initContainers ?? []).map(containerResources);
  const out: Resources = {};
  for (const k of ['cpuRequest', 'cpuLimit', 'memoryRequest', 'memoryLimit'] as const) {
    const limit = k.endsWith('Limit');
    const defined = [...apps, ...inits].filter((r) => r[k] !== undefined);
    if (!defined.length || (limit && defined.length < apps.length + inits.length)) continue;
    const sum = apps.reduce((a, r) => a + (r[k] ?? 0), 0);
    const maxInit = inits.reduce((a, r) => Math.max(a, r[k] ?? 0), 0);
    out[k] = Math.max(sum, maxInit);
  }
  return out;
}

export const CFS_PERIOD_US = 100_000;

export function milliToShares(milli: number | undefined): number {
  if (!milli) return 2;
  return Math.max(2, Math.floor((milli * 1024) / 1000));
}

export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** CFS quota in µs per CFS_PERIOD_US; undefined: no limit. */
export function milliToQuota(milli: number | undefined): number | undefined {
  if (milli === undefined) return undefined;
  return Math.max(1000, Math.floor((milli * CFS_PERIOD_US) / 1000));
}

/** oom_score_adj of a container of a pod of this class (the kubelet's policy). */
export function oomScoreAdj(qos: QosClass, memoryRequest: number | undefined, capacity: number): number {
  if (qos === 'Guaranteed') return -997;
  if (qos === 'BestEffort') return 1000;
  const adj = 1000 - Math.floor((1000 * (memoryRequest ?? 0)) / capacity);
  return Math.min(999, Math.max(2, adj));
}

export const PAUSE_OOM_SCORE_ADJ = -998;

/**
 * The default pids limit of a pod (pids.max of its cgroup). Kubernetes leaves it to the
 * kubelet's --pod-max-pids (unlimited by default); podman sets 2048 per container. minipod
 * sets 4096 per pod: enough for real pods, and a fork bomb in one pod cannot take the
 * host's pid space from the others.
 */
export const POD_PIDS_LIMIT = 4096;
