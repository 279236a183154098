// Undoing a pod on the host: processes, network, mounts, directories — exactly what
// host.json says was done, so it works after a crash too (gc uses the same code).

import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';

import type { NativeBinding } from '../native/binding.ts';
import { undoNetwork } from '../net/undo.ts';
import { readHost, recordHost, withPodLock, type HostRecord } from '../state/host.ts';
import { podDirs, type PodDirs, type StateRoots } from '../state/paths.ts';
import { isAlive, nsInode, nsInodeOf, processesInNamespace, type ProcRef } from '../state/proc.ts';

export interface TeardownOptions {
  /** Keep state.json, host.json, plan.json and logs (a detached pod that ended: `ps -a`, `logs`). */
  keepState?: boolean;
}

/** Mount points at or below dir, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const p = unescape(mp);
    if (p === dir || p.startsWith(dir + '/')) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** True when path is a mount point of an nsfs file (a namespace pinned there). */
function isNsPin(path: string): boolean {
  return mountsUnder(path).includes(path);
}

/**
 * The pod's IPC namespace, held so that its inode means that namespace while we use it.
 * A bare inode number from host.json is never trusted: once a namespace is freed the
 * kernel gives its inode to the next one (a bystander's, another pod's). It is held by the
 * pin (a bind mount made at start), or else by an fd we open from pause while pause — the
 * very process, pid and start time — is alive. Neither: nothing of the pod can be found.
 */
function holdIpcNamespace(rec: HostRecord): { inode: number; release: () => void } | undefined {
  const pin = rec.pause?.ipcPin;
  if (pin && isNsPin(pin)) {
    const inode = nsInodeOf(pin);
    if (inode) return { inode, release: () => undefined };
  }
  if (!rec.pause || !isAlive(rec.pause)) return undefined;
  let fd: number;
  try {
    fd = openSync(`/proc/${rec.pause.pid}/ns/ipc`, 'r');
  } catch {
    return undefined;
  }
  const inode = nsInodeOf(fd);
  // The fd was opened from that pid: it is pause's namespace only if pause still is pause.
  if (!inode || !isAlive(rec.pause)) {
    closeSync(fd);
    return undefined;
  }
  return { inode, release: () => closeSync(fd) };
}

/**
 * Kills every process of the pod: all of them share pause's IPC namespace. Returns false
 * when some could not be killed in time (then nothing of the pod's trees is removed).
 */
async function killProcesses(native: NativeBinding, rec: HostRecord, report: string[]): Promise<boolean> {
  // The supervisor execs its onExit teardown (this process, then): same pid, same start.
  if (rec.supervisor && rec.supervisor.pid !== process.pid) killRef(native, rec.supervisor, report, 'supervisor');
  const ns = holdIpcNamespace(rec);
  if (!ns) {
    if (rec.pause) report.push("the pod's IPC namespace is gone (pause died, no pin): no process of it is left to find");
    return true;
  }
  try {
    if (ns.inode === nsInode('self', 'ipc')) return true; // never the host's own namespace
    let pids = processesInNamespace('ipc', ns.inode);
    if (pids.length) report.push(`killed ${pids.length} process(es) of the pod: ${pids.join(' ')}`);
    for (const pid of pids) killInNamespace(native, pid, ns.inode);
    const deadline = Date.now() + 5000;
    while (pids.length && Date.now() < deadline) {
      await sleep(5);
      pids = processesInNamespace('ipc', ns.inode);
    }
    if (pids.length) report.push(`processes ${pids.join(' ')} of the pod did not die in 5 s`);
    return pids.length === 0;
  } finally {
    ns.release();
  }
}

/** SIGKILL through a pidfd, after checking (with the pidfd held) that pid is still in the namespace. */
function killInNamespace(native: NativeBinding, pid: number, inode: number): void {
  let fd: number;
  try {
    fd = native.pidfdOpen(pid);
  } catch {
    return; // gone
  }
  try {
    if (nsInode(pid, 'ipc') === inode) native.signal(fd, 9);
  } catch {
    // exited meanwhile
  } finally {
    native.close(fd);
  }
}

/** SIGKILL through a pidfd, after checking that pid is still the process ref names. */
function killRef(native: NativeBinding, ref: ProcRef, report: string[], what: string): void {
  if (!isAlive(ref)) return;
  let fd: number;
  try {
    fd = native.pidfdOpen(ref.pid);
  } catch {
    return;
  }
  try {
    if (isAlive(ref)) {
      native.signal(fd, 9);
      report.push(`killed ${what} ${ref.pid}`);
    }
  } finally {
    native.close(fd);
  }
}

function unmountAll(native: NativeBinding, dirs: PodDirs, report: string[]): void {
  for (const dir of [dirs.run, dirs.lib]) {
    for (const m of mountsUnder(dir)) {
      try {
        native.umount(m, true);
        report.push(`unmounted ${m}`);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? String((e as { errno?: number }).errno);
        if (code !== 'EINVAL' && code !== 'ENOENT') report.push(`could not unmount ${m}: ${(e as Error).message}`);
      }
    }
  }
}

/** rm -rf, but never into something still mounted (a mount we failed to remove). */
function removeTree(dir: string, report: string[]): void {
  if (!existsSync(dir)) return;
  const left = mountsUnder(dir);
  if (left.length) {
    report.push(`left ${dir} in place: still mounted: ${left.join(', ')}`);
    return;
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  report.push(`removed ${dir}`);
}

/** Removes what a pod that ended no longer needs, keeping what `ps -a` and `logs` read. */
function removeRuntimeOnly(dirs: PodDirs, report: string[]): void {
  for (const d of ['containers', 'volumes']) removeTree(path.join(dirs.lib, d), report);
  const pin = path.join(dirs.run, 'ipc.ns'); // unmounted by now; the empty file goes too
  if (existsSync(pin) && !mountsUnder(pin).length) rmSync(pin, { force: true });
  for (const entry of existsSync(dirs.run) ? readdirSync(dirs.run) : []) {
    if (['state.json', 'host.json', 'plan.json', 'pod.json', 'supervisor.log'].includes(entry)) continue;
    const p = path.join(dirs.run, entry);
    if (statSync(p).isDirectory()) removeTree(p, report);
  }
}

export async function teardownPod(
  native: NativeBinding,
  roots: StateRoots,
  name: string,
  opts: TeardownOptions = {},
): Promise<string[]> {
  const report: string[] = [];
  await withPodLock(native, roots, name, async () => {
    const dirs = podDirs(roots, name);
    const rec = readHost(dirs);
    if (rec && !rec.torndown) {
      const allDead = await killProcesses(native, rec, report);
      await undoNetwork(rec, report);
      if (!allDead) {
        // A survivor could still change the trees while they are removed: leave them (and
        // host.json) for a later gc.
        report.push(`left ${dirs.run} and ${dirs.lib} in place: processes of the pod are still alive`);
        return;
      }
      unmountAll(native, dirs, report);
      if (opts.keepState) recordHost(rec, (r) => (r.torndown = true));
    } else {
      unmountAll(native, dirs, report); // a pod that failed before host.json was written
    }
    if (opts.keepState) removeRuntimeOnly(dirs, report);
    else {
      removeTree(dirs.run, report);
      removeTree(dirs.lib, report);
    }
  });
  if (!opts.keepState) rmSync(path.join(roots.run, 'locks', `${name}.lock`), { force: true });
  return report;
}
