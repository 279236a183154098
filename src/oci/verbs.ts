// The runc command line's verbs that translate JSON into a plan, as containerd 1.6's runc
// v2 shim calls them (see the README's "minipod under Kubernetes"): create leaves the init
// waiting at its start gate in its final cgroup; exec; update; features. start, state,
// kill, delete, ps, pause, resume and list are the native front end's (native/oci), which
// reads the state create writes here. Every error message is what the shim matches ("does
// not exist", "container not running").

import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { hostLayout } from '../cgroups/layout.ts';
import type { NativeBinding } from '../native/binding.ts';
import { hostLsms } from '../plan/lsm.ts';
import type { ProcessPlan } from '../plan/types.ts';
import { cgroupPathOf, freezerOf, makeCgroup, removeCgroup, resourceWrites } from './cgroups.ts';
import { ConfigError, type OciConfig, type OciHook, type OciProcess, type OciResources } from './config.ts';
import { checkLsm, translate, translateProcess } from './translate.ts';
import { containerDir, ensureRoot, fifoPath, readOciState, startTime, statusOf, writeOciState, type OciState } from './state.ts';

export const OCI_VERSION = '1.0.2';

/** A short synchronous wait (the verbs are synchronous), without starting a process for it. */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export interface Globals {
  root: string;
  systemdCgroup: boolean;
  native: NativeBinding;
  /** A warning for the --log file (and stderr). */
  warn?: (msg: string) => void;
}

/** The pid file as runc writes it: digits only, no newline, written aside and renamed. */
function writePidFile(file: string, pid: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, String(pid));
  renameSync(tmp, file);
}

/** runc's check before create: the command must be there, so start cannot fail on it. */
function findExecutable(rootfs: string, argv0: string, env: string[]): void {
  const inRoot = (p: string) => {
    try {
      const st = statSync(path.join(rootfs, p));
      if (st.isFile()) {
        accessSync(path.join(rootfs, p), constants.X_OK);
        return true;
      }
    } catch {
      // not there, or not executable
    }
    return false;
  };
  if (argv0.includes('/')) {
    if (!inRoot(argv0)) throw new Error(`exec: "${argv0}": stat ${argv0}: no such file or directory`);
    return;
  }
  const PATH = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  // Symlinks inside the rootfs may point anywhere on the host: this is a hint, the executor resolves inside the root.
  if (!PATH.split(':').some((d) => inRoot(path.join(d || '.', argv0)))) throw new Error(`exec: "${argv0}": executable file not found in $PATH`);
}

/** The OCI state, as the native front end's `state` prints it (for create's hooks). */
function stateJson(root: string, s: OciState): Record<string, unknown> {
  const status = statusOf(root, s);
  return { ociVersion: OCI_VERSION, id: s.id, status, pid: status === 'stopped' ? 0 : s.pid, bundle: s.bundle, annotations: s.annotations, created: s.created };
}

/** Runs hooks in the runtime's namespaces with the state on stdin (runtime spec "Lifecycle"). */
function runHooks(kind: string, hooks: OciHook[] | undefined, state: Record<string, unknown>): void {
  for (const h of hooks ?? []) {
    const r = spawnSync(h.path, (h.args ?? [h.path]).slice(1), { input: JSON.stringify(state), env: Object.fromEntries((h.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])), timeout: (h.timeout ?? 0) * 1000 || undefined, argv0: h.args?.[0] ?? h.path, stdio: ['pipe', 'inherit', 'pipe'] });
    if (r.error || r.status !== 0) throw new Error(`${kind} hook ${h.path} failed: ${r.error?.message ?? `exit ${r.status ?? r.signal}`}${r.stderr?.length ? `: ${r.stderr.toString().trim()}` : ''}`);
  }
}

export interface CreateOptions {
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
}

export function create(g: Globals, id: string, o: CreateOptions): void {
  ensureRoot(g.root);
  const dir = containerDir(g.root, id);
  if (existsSync(dir)) throw new Error(`container with id "${id}" already exists`);
  const bundle = path.resolve(o.bundle);
  let config: OciConfig;
  try {
    config = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as OciConfig;
  } catch (e) {
    throw new Error(`${path.join(bundle, 'config.json')}: ${(e as Error).message}`);
  }
  if (config.process?.terminal && !o.consoleSocket) throw new ConfigError('process.terminal', 'needs --console-socket');
  const layout = hostLayout();
  const cgPath = layout ? cgroupPathOf(config.linux?.cgroupsPath, id, g.systemdCgroup) : undefined;
  if (config.hooks?.startContainer?.length) throw new ConfigError('hooks.startContainer', 'is not supported yet (it runs inside the container, before its command)');
  mkdirSync(dir, { mode: 0o700 });
  let cgDirs: string[] = [];
  let pid = 0;
  try {
    // The config's devices are made in the container: its device cgroup allows them.
    const resources = config.linux?.resources && { ...config.linux.resources, ...(config.linux.resources.devices?.length ? { devices: [...config.linux.resources.devices, ...(config.linux.devices ?? []).filter((d) => d.type !== 'p').map((d) => ({ allow: true, type: d.type === 'u' ? 'c' : d.type, major: d.major, minor: d.minor, access: 'rwm' }))] } : {}) };
    if (layout && cgPath) cgDirs = makeCgroup(layout, cgPath, resources);
    const plan: ProcessPlan = translate({ config, bundle, cgroupDirs: cgDirs, layout, lsms: hostLsms(), id });
    findExecutable(path.resolve(bundle, config.root!.path), plan.argv[0], plan.env);
    const fifo = fifoPath(g.root, id);
    g.native.mkfifo(fifo, 0o600);
    const gate = g.native.openGate(fifo);
    // With a terminal, the init opens it in its own devpts and sends the master to the
    // console socket itself, before create returns (as runc's init does).
    const console = config.process?.terminal ? g.native.connectUnix(o.consoleSocket!) : undefined;
    try {
      const spawned = g.native.spawn({ plan, stdio: console === undefined ? ['inherit', 'inherit', 'inherit'] : ['null', 'null', 'null'], gateFd: gate, ...(console !== undefined ? { consoleFd: console } : {}) });
      pid = spawned.pid;
      g.native.close(spawned.pidfd);
    } finally {
      g.native.close(gate);
      if (console !== undefined) g.native.close(console);
    }
    const state: OciState = {
      id,
      bundle,
      pid,
      start: startTime(pid) ?? 0,
      created: new Date().toISOString(),
      annotations: config.annotations ?? {},
      ...(cgPath ? { cgroup: { path: cgPath, dirs: cgDirs } } : {}),
      ...(layout && cgPath && freezerOf(layout, cgPath) ? { freezer: freezerOf(layout, cgPath) } : {}),
      namespaces: (config.linux?.namespaces ?? []).map((n) => n.type),
      ...(plan.seccomp ? { seccomp: plan.seccomp } : {}),
      hooks: { poststart: config.hooks?.poststart, poststop: config.hooks?.poststop },
    };
    writeOciState(g.root, state);
    const sj = stateJson(g.root, state);
    runHooks('prestart', config.hooks?.prestart, sj);
    runHooks('createRuntime', config.hooks?.createRuntime, sj);
    runHooks('createContainer', config.hooks?.createContainer, sj);
    if (o.pidFile) writePidFile(path.resolve(o.pidFile), pid);
  } catch (e) {
    if (pid > 0) killPid(g, pid, 9);
    for (let i = 0; i < 100 && pid > 0 && startTime(pid) !== undefined; i++) sleepMs(10);
    if (cgDirs.length) removeCgroup(cgDirs, cgPath);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function killPid(g: Globals, pid: number, sig: number): void {
  let fd: number;
  try {
    fd = g.native.pidfdOpen(pid);
  } catch {
    return; // gone
  }
  try {
    g.native.signal(fd, sig);
  } catch {
    // gone since
  } finally {
    g.native.close(fd);
  }
}

export function update(g: Globals, id: string, resources: OciResources): void {
  const s = readOciState(g.root, id);
  const layout = hostLayout();
  if (!layout || !s.cgroup) throw new Error('the container has no cgroup');
  const writes = resourceWrites(layout, resources);
  for (const w of writes) {
    const dir = layout.version === 2 ? s.cgroup.dirs[0] : layout.mounts[w.controller as 'cpu'] ? path.join(layout.mounts[w.controller as 'cpu']!, s.cgroup.path) : undefined;
    if (dir && existsSync(path.join(dir, w.file))) writeFileSync(path.join(dir, w.file), w.value);
  }
}

export interface ExecOptions {
  process: string;
  consoleSocket?: string;
  detach: boolean;
  pidFile?: string;
}

/** exec: a process in every namespace and the cgroup of the container's init. Returns its exit code (0 when detached). */
export async function exec(g: Globals, id: string, o: ExecOptions): Promise<number> {
  const s = readOciState(g.root, id);
  if (statusOf(g.root, s) !== 'running') throw new Error('container not running');
  const p = JSON.parse(readFileSync(o.process, 'utf8')) as OciProcess;
  checkLsm(p, hostLsms(), 'process.json');
  const proc = translateProcess(p, 'process.json');
  if (p.terminal && !o.consoleSocket) throw new ConfigError('process.json terminal', 'needs --console-socket');
  const map: Record<string, string> = { pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', cgroup: 'cgroup' };
  const order = ['ipc', 'uts', 'network', 'pid', 'mount', 'cgroup'].filter((t) => s.namespaces.includes(t));
  const initFd = g.native.pidfdOpen(s.pid);
  const console = p.terminal ? g.native.connectUnix(o.consoleSocket!) : undefined;
  try {
    if (startTime(s.pid) !== s.start) throw new Error('container not running');
    const plan: ProcessPlan = {
      pod: '',
      container: id,
      namespaces: order.map((t) => ({ type: map[t] as 'net', action: 'join' as const, path: `@init/${map[t]}` })),
      loopbackUp: false,
      mounts: [],
      ...proc,
      ...(s.cgroup ? { cgroups: s.cgroup.dirs } : {}),
      ...(s.seccomp ? { seccomp: s.seccomp as ProcessPlan['seccomp'] } : {}),
    };
    const spawned = g.native.spawn({ plan, stdio: console === undefined ? ['inherit', 'inherit', 'inherit'] : ['null', 'null', 'null'], refs: { init: initFd }, ...(console !== undefined ? { consoleFd: console } : {}) });
    if (o.pidFile) writePidFile(path.resolve(o.pidFile), spawned.pid);
    if (o.detach) {
      g.native.close(spawned.pidfd);
      return 0;
    }
    return await new Promise<number>((resolve) => g.native.watch(spawned.pidfd, (e) => resolve(e.code ?? 128 + (e.signal ?? 0)), true));
  } finally {
    g.native.close(initFd);
    if (console !== undefined) g.native.close(console);
  }
}

export function features(): Record<string, unknown> {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.1.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: ['ro', 'rw', 'nosuid', 'nodev', 'noexec', 'noatime', 'relatime', 'bind', 'rbind'],
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts'],
      capabilities: [],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: { enabled: true, actions: ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_LOG'], operators: ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE', 'SCMP_CMP_MASKED_EQ'] },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
  };
}
