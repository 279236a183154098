// Running a command inside a running container (`minipod exec`, PodHandle.exec).
//
// The process joins every namespace of the container's main process — ipc, uts, net, pid
// and mnt (so it sees the container's root, no pivot needed) — and takes the container's
// user, capabilities, no_new_privs, env and working directory from its plan. Joining the
// pid namespace needs the executor's second fork; the process is still our direct child.

import { MinipodError } from '../errors.ts';
import { fromNative } from '../errors.ts';
import type { ExitInfo, NativeBinding, NativeStdio } from '../native/binding.ts';
import type { ContainerPlan, ProcessPlan } from '../plan/types.ts';
import { nsInode } from '../state/proc.ts';
import type { ContainerStatus } from '../state/status.ts';
import { readPlan, type PodInfo } from './pods.ts';

export class ContainerNotFound extends MinipodError {
  constructor(pod: string, container: string, names: string[]) {
    super(`container "${container}" not found in pod "${pod}" (containers: ${names.join(', ')})`, { code: 'ENOENT', exitCode: 1 });
  }
}

/** The container a command is about: named, or the only/first app container. */
export function pickContainer(info: PodInfo, name: string | undefined, verb: string): { plan: ContainerPlan; status: ContainerStatus | undefined } {
  const plan = readPlan(info.dirs);
  if (!plan) throw new MinipodError(`pod "${info.name}" has no plan (it is being created, or it is broken; try minipod gc)`);
  const all = [...plan.initContainers, ...plan.containers];
  let c: ContainerPlan | undefined;
  if (name) c = all.find((x) => x.name === name);
  else if (plan.containers.length === 1) c = plan.containers[0];
  else {
    throw new MinipodError(`a container name must be specified for ${verb} in pod "${info.name}", choose one of: ${plan.containers.map((x) => x.name).join(', ')} (use -c)`, {
      exitCode: 2,
    });
  }
  if (!c) throw new ContainerNotFound(info.name, name!, all.map((x) => x.name));
  return { plan: c, status: info.state?.containers.find((s) => s.name === c!.name) };
}

/** The plan of a process that enters the container. */
export function execPlan(info: PodInfo, c: ContainerPlan, status: ContainerStatus | undefined, argv: string[], tty: boolean): ProcessPlan {
  if (info.liveness !== 'running' || status?.state !== 'running' || !status.pid) {
    throw new MinipodError(`container "${c.name}" in pod "${info.name}" is not running (${status?.state ?? 'no status'}${status?.reason ? `: ${status.reason}` : ''})`, {
      code: 'ESRCH',
      exitCode: 1,
    });
  }
  const p = c.process;
  return {
    pod: info.name,
    container: c.name,
    // By reference: spawnAndWait resolves it to a pidfd of the container's process.
    namespaces: (['ipc', 'uts', 'net', 'pid', 'mnt'] as const).map((type) => ({ type, action: 'join' as const, path: `@container:${c.name}/${type}` })),
    loopbackUp: false,
    mounts: [],
    user: p.user,
    capabilities: p.capabilities,
    noNewPrivileges: p.noNewPrivileges,
    cwd: p.cwd,
    argv,
    env: tty && !p.env.some((e) => e.startsWith('TERM=')) ? [...p.env, 'TERM=xterm'] : p.env,
    ...(tty ? { setsid: true, controllingTty: true } : {}),
  };
}

/** The exit code of a process as a shell reports it. */
export function exitCodeOf(e: ExitInfo): number {
  return e.code ?? (e.signal ? 128 + e.signal : 1);
}

/**
 * The process an exec plan's "@container:NAME/..." references name: a pidfd of the pid
 * state.json gives, opened first and then checked to be a process of this pod (every one
 * shares pause's IPC namespace). The pidfd pins it: if the container ends meanwhile, the
 * join fails (ESRCH) instead of entering whatever process took its pid.
 */
export function openTarget(native: NativeBinding, info: PodInfo, container: string, status: ContainerStatus | undefined): Record<string, number> {
  const pid = status?.pid;
  const gone = () => new MinipodError(`container "${container}" in pod "${info.name}" is not running (its process ${pid} is gone)`, { code: 'ESRCH', exitCode: 1 });
  if (!pid) throw gone();
  let pidfd: number;
  try {
    pidfd = native.pidfdOpen(pid);
  } catch {
    throw gone();
  }
  if (info.host?.pause?.ipcNs && nsInode(pid, 'ipc') !== info.host.pause.ipcNs) {
    native.close(pidfd);
    throw gone();
  }
  return { [`container:${container}`]: pidfd };
}

/** Spawns plan with the given stdio (refs: pidfds its namespace references name, closed here) and resolves with its exit. */
export function spawnAndWait(native: NativeBinding, plan: ProcessPlan, stdio: [NativeStdio, NativeStdio, NativeStdio], refs: Record<string, number> = {}): { pid: number; exit: Promise<ExitInfo> } {
  let spawned;
  try {
    spawned = native.spawn({ plan, stdio, refs });
  } catch (e) {
    throw fromNative(e, plan.pod, plan.container);
  } finally {
    for (const fd of Object.values(refs)) native.close(fd);
  }
  const exit = new Promise<ExitInfo>((resolve) => native.watch(spawned.pidfd, resolve));
  return { pid: spawned.pid, exit };
}
