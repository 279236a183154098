// Pod start is extended by hooks: the network (src/net) and volumes (src/volumes) plug in
// here, so that start.ts stays the same sequence whatever a pod uses.
//
// A hook contributes to the plan (pure, also used by `minipod plan`), prepares the host
// before the supervisor starts, and acts once pause holds the pod's namespaces. Whatever
// it changes on the host it records in host.json first, and undoes in teardown.

import type { NativeBinding } from '../native/binding.ts';
import type { NetOptions } from '../net/config.ts';
import type { EnvEntry } from '../plan/expand.ts';
import type { HostOp } from '../plan/host-ops.ts';
import type { HostStep, MountOp } from '../plan/types.ts';
import type { ConfigMap, Pod, Secret } from '../spec/types.ts';
import type { HostRecord } from '../state/host.ts';
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
  /** Facts learnt while starting, e.g. the pod's IP once allocated; empty while planning. */
  facts: { podIP?: string; hostIP?: string; gateway?: string; [k: string]: unknown };
}

export interface Contribution {
  /** Extra mount steps per container name (sorted parents-first by the planner). */
  mounts?: Map<string, MountOp[]>;
  /** The full, ordered env list per container name (see PodContext.resolvedEnv). */
  env?: Map<string, EnvEntry[]>;
  hostSteps?: HostStep[];
  /** Host operations the supervisor executes (one hook, the network, has them). */
  hostOps?: HostOp[];
}

/** What planning needs: everything of a start's context but the native binding (planning never touches the system). */
export type PlanContext = Omit<HookContext, 'native'>;

export interface PodHook {
  name: string;
  /** Pure: mounts, env and host steps this hook adds. Throws FieldError for bad input. */
  contribute?(ctx: PlanContext): Contribution;
  /** Before the supervisor starts: create files, allocate addresses (recorded in host.json). */
  prepare?(ctx: HookContext, host: HostRecord): Promise<void>;
  /** Pause runs: wire its network namespace to the host. */
  afterPause?(ctx: HookContext, host: HostRecord, pausePid: number): Promise<void>;
}

const registry: PodHook[] = [];

/** src/net and src/volumes register their hook when loaded (see runtime/all-hooks.ts). */
export function registerHook(hook: PodHook): void {
  if (!registry.some((h) => h.name === hook.name)) registry.push(hook);
}

export function podHooks(): PodHook[] {
  return [...registry];
}

/** Merges contributions in hook order. */
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
