// The pods on this host, as the CLI and the API see them: state.json (what minipod did on
// the host, and what the supervisor reports) and pod.json (the manifest), per pod.
//
// Any command that lists pods also notices pods whose supervisor died without cleaning up
// (killed, OOM, a crash) and undoes their host side, keeping their state for `ps -a`.

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { MinipodError } from '../errors.ts';
import type { NativeBinding } from '../native/binding.ts';
import type { PodPlan } from '../plan/types.ts';
import type { Pod } from '../spec/types.ts';
import { readJson } from '../state/files.ts';
import { readHost, recordHost, type HostRecord } from '../state/host.ts';
import { podDirs, podsRunDir, type PodDirs, type StateRoots } from '../state/paths.ts';
import { readState, type PodState } from '../state/status.ts';
import { podLiveness, type PodLiveness } from './liveness.ts';

export interface PodInfo {
  name: string;
  dirs: PodDirs;
  host: HostRecord | undefined;
  state: PodState | undefined;
  liveness: PodLiveness;
}

export function podInfo(roots: StateRoots, name: string): PodInfo {
  const dirs = podDirs(roots, name);
  const host = readHost(dirs);
  return { name, dirs, host, state: readState(dirs), liveness: podLiveness(host, dirs) };
}

export function podNames(roots: StateRoots): string[] {
  const dir = podsRunDir(roots);
  return existsSync(dir) ? readdirSync(dir).filter((n) => !n.startsWith('.')).sort() : [];
}

export function readPlan(dirs: PodDirs): PodPlan | undefined {
  return readJson<{ pod: PodPlan }>(path.join(dirs.run, 'plan.json'))?.pod;
}

export function readManifest(dirs: PodDirs): Pod | undefined {
  return readJson<Pod>(path.join(dirs.run, 'pod.json'));
}

/** A pod whose supervisor is gone but whose host side was never undone: undo it now. */
export async function reconcile(native: NativeBinding, roots: StateRoots, info: PodInfo): Promise<PodInfo> {
  if (info.liveness !== 'stale' || !info.host) return info;
  // Loaded only when there is something to undo: `ps` and `logs` never pay for the
  // network and teardown code (and the Node modules it needs) otherwise.
  const { teardownPod } = await import('./teardown.ts');
  await teardownPod(native, roots, info.name, { keepState: true });
  const host = readHost(info.dirs);
  if (host) recordHost(host, (r) => (r.lost = true));
  return podInfo(roots, info.name);
}

export async function listPods(native: NativeBinding, roots: StateRoots): Promise<PodInfo[]> {
  const out: PodInfo[] = [];
  for (const name of podNames(roots)) out.push(await reconcile(native, roots, podInfo(roots, name)));
  return out;
}

export class PodNotFound extends MinipodError {
  constructor(name: string) {
    super(`pod "${name}" not found`, { code: 'ENOENT', exitCode: 1 });
  }
}

export async function findPod(native: NativeBinding, roots: StateRoots, name: string): Promise<PodInfo> {
  if (!existsSync(podDirs(roots, name).run)) throw new PodNotFound(name);
  return reconcile(native, roots, podInfo(roots, name));
}

/** Kubernetes' phase, with Unknown for a pod whose supervisor was lost. */
export function podPhase(info: PodInfo): string {
  if (info.host?.lost) return 'Unknown';
  return info.state?.phase ?? 'Pending';
}
