// Stopping and removing pods that run under their own supervisor (detached or owned).
//
// The supervisor is signalled through a pidfd opened after checking that the pid still
// names the supervisor we started (pid + start time), and waited for through the same
// pidfd. Stop = SIGTERM: graceful; the supervisor then undoes the host side itself and
// keeps the state. Remove = SIGUSR1 (SIGUSR2 with no grace): it stops and removes every
// file of the pod too. A pod without a live supervisor is undone by the native unwinder.

import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { MinipodError } from '../errors.ts';
import type { NativeBinding } from '../native/binding.ts';
import type { StateRoots } from '../state/paths.ts';
import { processStart } from '../state/proc.ts';
import { readPlan, type PodInfo } from './pods.ts';
import { teardownPod } from './teardown.ts';

const SIG = { SIGTERM: 15, SIGUSR1: 10, SIGUSR2: 12 } as const;

/** Signals the pod's supervisor and waits until it (and so its teardown) has ended. */
export async function signalSupervisor(native: NativeBinding, info: PodInfo, sig: keyof typeof SIG, timeoutMs: number, graceMs?: number): Promise<boolean> {
  const sup = info.host?.supervisor;
  if (!sup || info.liveness !== 'running') return false;
  let pidfd: number;
  try {
    pidfd = native.pidfdOpen(sup.pid);
  } catch {
    return false; // already gone
  }
  if (processStart(sup.pid) !== sup.start) {
    native.close(pidfd); // the pid now names another process
    return false;
  }
  const exited = new Promise<boolean>((resolve) => native.watch(pidfd, () => resolve(true)));
  native.signal(pidfd, SIG[sig], graceMs);
  const ac = new AbortController(); // so that the timer does not keep us alive afterwards
  const timedOut = sleep(timeoutMs, false, { signal: ac.signal }).catch(() => false);
  const done = await Promise.race([exited, timedOut]);
  ac.abort();
  if (!done) {
    throw new MinipodError(`pod "${info.name}": its supervisor (pid ${sup.pid}) did not finish within ${Math.round(timeoutMs / 1000)} s`);
  }
  return true;
}

function graceMs(info: PodInfo): number {
  return (readPlan(info.dirs)?.terminationGracePeriodSeconds ?? 30) * 1000;
}

/**
 * Graceful stop; the pod stays (ended) for ps -a and logs. `graceSeconds` overrides the
 * pod's terminationGracePeriodSeconds (kubectl delete --grace-period, podman stop -t): it
 * travels with the signal as its value.
 */
export async function stopPod(native: NativeBinding, info: PodInfo, graceSeconds?: number): Promise<boolean> {
  const grace = graceSeconds === undefined ? undefined : checkGrace(graceSeconds);
  return signalSupervisor(native, info, 'SIGTERM', (grace ?? graceMs(info)) + 30_000, grace);
}

function checkGrace(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 2_000_000) throw new MinipodError(`a grace period must be a number of seconds from 0 to 2000000, not ${seconds}`, { code: 'ERR_USAGE' });
  return Math.round(seconds * 1000);
}

/** Stops (gracefully, or at once with force) if running, then removes everything of the pod. */
export async function removePod(native: NativeBinding, roots: StateRoots, info: PodInfo, force: boolean, graceSeconds?: number): Promise<string[]> {
  const grace = graceSeconds === undefined || force ? undefined : checkGrace(graceSeconds);
  if (info.liveness === 'running') await signalSupervisor(native, info, force ? 'SIGUSR2' : 'SIGUSR1', (force ? 0 : (grace ?? graceMs(info))) + 30_000, grace);
  else if (info.liveness === 'creating' && !force) {
    throw new MinipodError(`pod "${info.name}" is being created; try again, or use rm -f`);
  }
  // Its supervisor removed it; or it had none left (ended, lost): the unwinder does.
  if (!existsSync(info.dirs.run) && !existsSync(info.dirs.lib)) return [];
  return teardownPod(native, roots, info.name);
}
