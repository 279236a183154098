// `minipod run POD.yaml` in the foreground: start, stream output, stop on Ctrl-C, remove.
//
// Ctrl-C or SIGTERM: the supervisor sends each container its stop signal and SIGKILLs what
// is left after terminationGracePeriodSeconds, then pause; a second Ctrl-C skips the grace
// period. When the supervisor is done, every process, mount, overlay and directory of the
// pod is removed. The exit status is 0 when every container ended with 0, otherwise the
// exit code of the first container (init containers first, then in manifest order) that
// did not (128 for a container that could not start, 128+N for one killed by signal N).

import { existsSync } from 'node:fs';

import type { Pod } from '../spec/types.ts';
import { podDirs } from '../state/paths.ts';
import { lastExitCode, readState, type PodState } from '../state/status.ts';
import { startPod, type StartOptions } from './start.ts';
import { teardownPod } from './teardown.ts';

export function podExitCode(state: PodState | undefined): number {
  if (!state) return 1;
  for (const c of state.containers) {
    const code = lastExitCode(c);
    if (code !== undefined && code !== 0) return code;
  }
  return state.phase === 'Failed' ? 1 : 0;
}

/** Waits for a foreground pod's end; its exit status once everything of it is gone. */
async function untilRemoved(started: Awaited<ReturnType<typeof startPod>>, o: Omit<StartOptions, 'mode'>, say: (line: string) => void): Promise<number> {
  const link = started.link;
  // The supervisor says how the pod ended ("done PHASE CODE"), then removes all of it.
  const done = link.waitFor('done').catch(() => undefined);
  await link.waitExit();
  link.close();
  const end = await done;
  const dirs = podDirs(o.roots, started.name);
  // A supervisor that died without finishing: the same unwinder, from here.
  const state = end ? undefined : readState(dirs);
  if (existsSync(dirs.run) || existsSync(dirs.lib)) await teardownPod(o.native, o.roots, started.name);
  say(`minipod: pod "${started.name}" ${end?.phase ?? state?.phase ?? 'ended'}; removed`);
  return end ? end.code : podExitCode(state);
}

export async function runForeground(pod: Pod, o: Omit<StartOptions, 'mode'>, say: (line: string) => void): Promise<number> {
  let interrupts = 0;
  let link: Awaited<ReturnType<typeof startPod>>['link'] | undefined;
  let stopEarly = false;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (!link) {
      stopEarly = true;
      return;
    }
    if (interrupts === 1) say(`minipod: ${sig}: stopping pod "${pod.metadata.name}" (grace period ${pod.spec.terminationGracePeriodSeconds ?? 30}s; Ctrl-C again to kill now)`);
    link.send(interrupts > 1 && sig === 'SIGINT' ? 'kill' : 'stop');
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    const started = await startPod(pod, { ...o, mode: 'foreground' });
    link = started.link;
    const names = [...started.plan.initContainers, ...started.plan.containers].map((c) => c.name).join(', ');
    const ip = started.facts.podIP ? `, IP ${started.facts.podIP}` : '';
    say(`minipod: pod "${started.name}" running (${names}${ip})`);
    if (stopEarly) link.send('stop');
    return await untilRemoved(started, o, say);
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}

/**
 * Several pods of one stream in the foreground, as `podman kube play` without -d would run
 * them: each with its own supervisor, output as "[pod/container] line"; Ctrl-C stops them
 * all (again: kills); every pod is removed when it ends. The exit status is the first
 * non-zero one of the pods, in stream order. A pod that fails to start stops the others.
 */
export async function runForegroundAll(pods: { pod: Pod; job?: StartOptions['job'] }[], o: Omit<StartOptions, 'mode'>, say: (line: string) => void): Promise<number> {
  let interrupts = 0;
  const links: Awaited<ReturnType<typeof startPod>>['link'][] = [];
  let stopped = false;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    stopped = true;
    if (interrupts === 1) say(`minipod: ${sig}: stopping ${pods.length} pods (Ctrl-C again to kill now)`);
    for (const l of links) if (!l.exited) l.send(interrupts > 1 && sig === 'SIGINT' ? 'kill' : 'stop');
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const ends: Promise<number>[] = [];
  let failure: unknown;
  try {
    for (const { pod, job } of pods) {
      if (stopped) break;
      let started: Awaited<ReturnType<typeof startPod>>;
      try {
        started = await startPod(pod, { ...o, mode: 'foreground', prefixPod: true, ...(job ? { job } : {}) });
      } catch (e) {
        failure = e;
        for (const l of links) if (!l.exited) l.send('stop');
        break;
      }
      const link = started.link;
      links.push(link);
      if (stopped) link.send('stop');
      say(`minipod: pod "${started.name}" running${started.facts.podIP ? `, IP ${started.facts.podIP}` : ''}`);
      ends.push(untilRemoved(started, o, say));
    }
    const codes = await Promise.all(ends);
    if (failure) throw failure;
    return codes.find((c) => c !== 0) ?? 0;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
