// What the phases of a pod start share (start.ts calls them in order, by name):
//
//   plan        contributeNetwork, contributeVolumes   pure: mounts, env, host steps and
//                                                       operations (also `minipod plan`)
//   prepare     prepareNetwork -> NetworkFacts, then prepareVolumes (its env fieldRefs read
//               the facts)                           before the supervisor starts
//   after pause (the supervisor: the host operations, UDP conntrack included)
//
// Whatever a phase changes on the host it journals in state.json first (src/state/host.ts);
// the supervisor unwinds that journal when the pod ends, the native unwinder (teardown.ts)
// when the supervisor is gone.

import type { NativeBinding } from '../native/binding.ts';
import type { NetOptions } from '../net/config.ts';
import type { EnvEntry } from '../plan/expand.ts';
import type { HostOp } from '../plan/host-ops.ts';
import type { HostStep, MountOp } from '../plan/types.ts';
import type { ConfigMap, Pod, Secret } from '../spec/types.ts';
import type { PodDirs, StateRoots } from '../state/paths.ts';

export interface HookContext {
  native: NativeBinding;
  pod: Pod;
  uid: string;
  roots: StateRoots;
  dirs: PodDirs;
  /** ConfigMaps and Secrets given with the pod (same file, or --configmap files). */
  configMaps: ConfigMap[];
  secrets: Secret[];
  /** The caller's choice of bridge, subnet and masquerade (else the environment's). */
  network?: NetOptions;
  /** The cgroup the pod's cgroup goes under (else MINIPOD_CGROUP_PARENT, else /minipod). */
  cgroupParent?: string;
  /** false: no cgroups (podman's --cgroups=disabled; else MINIPOD_CGROUPS=disabled). */
  cgroups?: boolean;
  /** Unsafe sysctls allowed (else MINIPOD_ALLOW_UNSAFE_SYSCTLS, comma-separated). */
  allowUnsafeSysctls?: string[];
  /** RuntimeDefault seccomp by default (else MINIPOD_SECCOMP_DEFAULT=1). */
  seccompDefault?: boolean;
  /** A Job's pod: its completions and backoffLimit (src/spec/workloads.ts). */
  job?: { completions: number; backoffLimit: number };
  /** hostUsers: false: the pod's first host id, once leased (while planning: the next free one). */
  userBase?: number;
  /** Facts learnt while starting (prepareNetwork's NetworkFacts); empty while planning. */
  facts: NetworkFacts;
}

export interface Contribution {
  /** Extra mount steps per container name (sorted parents-first by the planner). */
  mounts?: Map<string, MountOp[]>;
  /** The full, ordered env list per container name (see PodContext.resolvedEnv). */
  env?: Map<string, EnvEntry[]>;
  hostSteps?: HostStep[];
  /** Host operations the supervisor executes (the network's). */
  hostOps?: HostOp[];
}

/** What the network's prepare phase learns: the pod's address, the host's, the gateway. */
export interface NetworkFacts {
  podIP?: string;
  hostIP?: string;
  gateway?: string;
}

/** What planning needs: everything of a start's context but the native binding (planning never touches the system). */
export type PlanContext = Omit<HookContext, 'native'>;

/** Merges contributions in phase order. */
export function mergeContributions(list: Contribution[]): Required<Contribution> {
  const mounts = new Map<string, MountOp[]>();
  const env = new Map<string, EnvEntry[]>();
  const hostSteps: HostStep[] = [];
  const hostOps: HostOp[] = [];
  for (const c of list) {
    hostOps.push(...(c.hostOps ?? []));
    for (const [k, v] of c.mounts ?? []) mounts.set(k, [...(mounts.get(k) ?? []), ...v]);
    for (const [k, v] of c.env ?? []) env.set(k, v); // one hook owns env resolution
    hostSteps.push(...(c.hostSteps ?? []));
  }
  return { mounts, env, hostSteps, hostOps };
}
