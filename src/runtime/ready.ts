// Waiting for a pod to be ready: `minipod run --wait` and the API's waitReady().
// Ready = every app container (and sidecar) running and ready, as Kubernetes' Ready
// condition; state.json is the supervisor's word on it (readiness probes run there).

import { setTimeout as sleep } from 'node:timers/promises';

import { MinipodError } from '../errors.ts';
import type { StateRoots } from '../state/paths.ts';
import { podInfo } from './pods.ts';

export async function waitPodReady(roots: StateRoots, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = podInfo(roots, name);
    const s = info.state;
    const apps = s?.containers.filter((c) => !c.init || c.sidecar) ?? [];
    if (s && s.allStarted && apps.length && apps.every((c) => c.ready)) return;
    if (s && (s.phase === 'Failed' || s.phase === 'Succeeded' || info.liveness !== 'running')) {
      throw new MinipodError(`pod "${name}" will not become ready: it is ${s.phase}${s.reason ? ` (${s.reason})` : ''}`, { exitCode: 1 });
    }
    if (Date.now() > deadline) {
      const waiting = apps.filter((c) => !c.ready).map((c) => `${c.name} (${c.state}${c.reason ? `: ${c.reason}` : ''})`);
      throw new MinipodError(`pod "${name}" not ready after ${timeoutMs} ms: ${waiting.join(', ') || 'containers not started'}`, { code: 'ETIMEDOUT', exitCode: 1 });
    }
    await sleep(25);
  }
}
