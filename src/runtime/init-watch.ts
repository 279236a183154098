// While `run -d` waits for its pod to run: which init container runs (k of n), and an end
// to the wait when one fails or the time is up, instead of a silent wait for a pod that
// will not come up (its init container retried with backoff forever, say).
//
// It reads state.json (the supervisor's), every 100 ms. A failed init container ends the
// wait with its name, its exit code (or how it failed to start) and the last lines of its
// log; the pod is left as it is (its restartPolicy may keep retrying), for ps, logs and rm.

import { MinipodError } from '../errors.ts';
import type { PodPlan } from '../plan/types.ts';
import type { PodDirs } from '../state/paths.ts';
import { readState, type ContainerStatus } from '../state/status.ts';
import { logFile, logIndex, readLog } from './logs.ts';

export class InitFailed extends MinipodError {}

function lastLines(dirs: PodDirs, c: ContainerStatus, n = 5): string[] {
  return readLog(logFile(dirs, c.name, logIndex(c, false, c.name)))
    .map((l) => l.text)
    .slice(-n);
}

function failureOf(c: ContainerStatus): string | undefined {
  const t = c.state === 'terminated' ? c : c.lastState ? { exitCode: c.lastState.exitCode, signal: c.lastState.signal, reason: c.lastState.reason } : undefined;
  if (!t) return undefined;
  if (c.error) return `failed to start (${c.state === 'waiting' ? (c.lastState?.message ?? 'StartError') : (c.message ?? 'StartError')})`;
  if (t.exitCode === 0 && !t.signal) return undefined;
  return t.signal ? `was killed by signal ${t.signal}${t.reason ? ` (${t.reason})` : ''}` : `exited with code ${t.exitCode}${t.reason && t.reason !== 'Error' ? ` (${t.reason})` : ''}`;
}

/**
 * Watches the init containers until stop() is called; rejects on the first failure or at
 * the deadline, saying on `say` which one runs as it changes.
 */
export function watchInit(dirs: PodDirs, plan: PodPlan, say: (line: string) => void, timeoutMs?: number): { failed: Promise<never>; stop: () => void } {
  const inits = plan.initContainers.filter((c) => !c.sidecar).map((c) => c.name);
  let timer: NodeJS.Timeout | undefined;
  let announced = '';
  const started = Date.now();
  const failed = new Promise<never>((_, reject) => {
    const tick = () => {
      const state = readState(dirs);
      for (const [k, name] of inits.entries()) {
        const c = state?.containers.find((x) => x.name === name);
        if (!c) continue;
        const why = failureOf(c);
        if (why) {
          const lines = lastLines(dirs, c);
          const tail = lines.length ? `; its last output:\n${lines.map((l) => `  ${l}`).join('\n')}` : '';
          reject(new InitFailed(`pod "${plan.pod}": init container "${name}" (${k + 1} of ${inits.length}) ${why}; the pod is left for \`minipod logs ${plan.pod} -c ${name}\`, ps and rm${tail}`, { exitCode: 1 }));
          return;
        }
        if (c.state === 'running' && announced !== name) {
          announced = name;
          if (inits.length) say(`init container ${k + 1} of ${inits.length} ("${name}") is running`);
        }
      }
      if (timeoutMs !== undefined && Date.now() - started > timeoutMs) {
        reject(new InitFailed(`pod "${plan.pod}" did not start within ${Math.round(timeoutMs / 1000)} s${announced ? ` (init container "${announced}" still runs)` : ''}; the pod is left for ps, logs and rm`, { exitCode: 1 }));
        return;
      }
      timer = setTimeout(tick, 100);
    };
    timer = setTimeout(tick, 100);
  });
  failed.catch(() => undefined); // observed through the race; never an unhandled rejection
  return { failed, stop: () => clearTimeout(timer) };
}
