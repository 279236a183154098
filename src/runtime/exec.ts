// Running a command inside a running container (`minipod exec`, PodHandle.exec).
//
// The process joins every namespace of the container's main process — ipc, uts, net, pid
// and mnt (so it sees the container's root, no pivot needed) — and takes the container's
// user, capabilities, no_new_privs, env and working directory from its plan. We compute
// that plan; the pod's supervisor runs it (execInContainer), by the pidfds it holds.

import net from 'node:net';

import { fromNative, MinipodError } from '../errors.ts';
import type { ExitInfo, NativeBinding } from '../native/binding.ts';
import type { ContainerPlan, ProcessPlan } from '../plan/types.ts';
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
    // By reference: the supervisor resolves it to the pidfd it holds for the container.
    namespaces: [
      ...(['ipc', 'uts', 'net', 'pid', 'mnt', ...(p.namespaces.some((n) => n.type === 'cgroup') ? (['cgroup'] as const) : [])] as const).map((type) => ({ type, action: 'join' as const, path: `@container:${c.name}/${type}` })),
      // hostUsers: false: its user namespace too, last (the supervisor refuses an exec without it).
      ...(p.namespaces.some((n) => n.type === 'user') ? [{ type: 'user' as const, action: 'join' as const, path: `@container:${c.name}/user`, after: 'mounts' as const }] : []),
    ],
    loopbackUp: false,
    mounts: [],
    user: p.user,
    capabilities: p.capabilities,
    noNewPrivileges: p.noNewPrivileges,
    cwd: p.cwd,
    argv,
    env: tty && !p.env.some((e) => e.startsWith('TERM=')) ? [...p.env, 'TERM=xterm'] : p.env,
    // In the container's cgroups, as runc exec does: within its limits, killed with it.
    ...(p.cgroups ? { cgroups: p.cgroups } : {}),
    ...(p.oomScoreAdj !== undefined ? { oomScoreAdj: p.oomScoreAdj } : {}),
    // The container's system call filter, for what enters it too.
    ...(p.seccomp ? { seccomp: p.seccomp } : {}),
    ...(tty ? { setsid: true, controllingTty: true } : {}),
  };
}

/** The exit code of a process as a shell reports it. */
export function exitCodeOf(e: ExitInfo): number {
  return e.code ?? (e.signal ? 128 + e.signal : 1);
}

/** A command running in a container, started by the pod's supervisor. */
export interface ExecProcess {
  pid: number;
  /** With tty: the terminal's master (ours to read, write, resize and close). */
  master?: number;
  exit: Promise<ExitInfo>;
}

/**
 * Asks the pod's supervisor to run plan in the container (native/shim/control.c). The
 * supervisor joins the container by the pidfd it holds (no pid from a file, no /proc/PID
 * path), spawns the command as its own child, and says when it has ended. Without tty,
 * stdio are fds of ours that the command gets (passed as SCM_RIGHTS); with tty, the
 * supervisor opens a terminal in the container's devpts and hands us its master. Closing
 * the connection (our exit) takes the command with it.
 */
export function execInContainer(native: NativeBinding, info: PodInfo, container: string, plan: ProcessPlan, io: { tty: true } | { tty: false; stdio: [number, number, number] }): ExecProcess {
  const request = JSON.stringify({ op: 'exec', container, tty: io.tty, process: plan });
  let r;
  try {
    r = native.control(info.dirs.run, request, io.tty ? [] : io.stdio);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MinipodError(`pod "${info.name}": cannot reach its supervisor (${code === 'ENOENT' || code === 'ECONNREFUSED' ? 'it has no control socket: it has ended, or it is of an older minipod' : (e as Error).message})`, { code, exitCode: 1, cause: e });
  }
  const lines = r.reply.split('\n');
  const first = lines.shift() ?? '';
  if (!first.startsWith('started ')) {
    native.close(r.fd);
    for (const fd of r.fds) native.close(fd);
    if (first.startsWith('failed ')) {
      const f = JSON.parse(first.slice(7)) as Record<string, string | number | null>;
      for (const k of Object.keys(f)) if (f[k] === null) delete f[k];
      throw fromNative(f, info.name, container); // worded, and 126/127, as any start failure
    }
    const why = first.startsWith('error ') ? first.slice(6) : `unexpected reply "${first}"`;
    throw new MinipodError(`pod "${info.name}" container "${container}": exec: ${why}`, { code: /not running/.test(why) ? 'ESRCH' : undefined, exitCode: /not running|no such/.test(why) ? 1 : 126 });
  }
  const pid = Number(first.slice(8));
  const exit = new Promise<ExitInfo>((resolve) => {
    let buf = lines.join('\n');
    let done = false;
    const finish = (code: number | null, signal: number | null) => {
      if (done) return;
      done = true;
      resolve({ pid, code, signal });
      sock.destroy();
    };
    const scan = () => {
      const m = /^exit (-?\d+) (-?\d+)$/m.exec(buf);
      if (m) finish(Number(m[1]) < 0 ? null : Number(m[1]), Number(m[2]) < 0 ? null : Number(m[2]));
    };
    const sock = new net.Socket({ fd: r.fd, readable: true, writable: false });
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      scan();
    });
    sock.on('error', () => undefined);
    // The supervisor went away without saying: the command went with it (SIGKILL).
    sock.on('close', () => finish(null, 9));
    scan();
  });
  return { pid, master: r.fds[0], exit };
}
