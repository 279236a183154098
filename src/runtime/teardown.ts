// Undoing a pod whose supervisor is gone (killed, crashed, or it never started): the same
// native unwinder the supervisor runs when its pod ends (native/shim/unwind.c), started as
// `minipod-shim --unwind keep|remove RUN_DIR LIB_DIR` under the pod's lock. It kills what
// is left in the pod's IPC namespace, undoes state.json's journal last entry first,
// unmounts what is still mounted below the pod's directories and removes them (or, with
// keepState, all but the files `ps -a` and `logs` read). It prints what it did; that is
// the report returned here.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { MinipodError } from '../errors.ts';
import type { NativeBinding } from '../native/binding.ts';
import { helperBinary } from '../native/load.ts';
import { withPodLock } from '../state/host.ts';
import { podDirs, type StateRoots } from '../state/paths.ts';
import { hostProcess } from './supervisor.ts';

export interface TeardownOptions {
  /** Keep state.json, plan.json and logs (an ended pod: `ps -a`, `logs`). */
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

/** Runs the native unwinder (the caller holds the pod's lock) and returns what it printed. */
async function unwind(native: NativeBinding, how: 'keep' | 'remove', run: string, lib: string): Promise<string[]> {
  const [ours, theirs] = native.socketpair();
  let spawned;
  try {
    spawned = native.spawn({
      plan: hostProcess(path.basename(run), 'unwind', [helperBinary('minipod-shim'), '--unwind', how, run, lib]),
      stdio: ['null', theirs, 'inherit'],
    });
  } catch (e) {
    native.close(ours);
    throw new MinipodError(`pod "${path.basename(run)}": cannot start the unwinder: ${(e as Error).message}`, { cause: e });
  } finally {
    native.close(theirs);
  }
  const exit = new Promise<{ code: number | null }>((resolve) => native.watch(spawned.pidfd, resolve));
  const out = await new Promise<string>((resolve) => {
    let text = '';
    const sock = new net.Socket({ fd: ours, readable: true, writable: false });
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (text += d));
    sock.on('error', () => resolve(text));
    sock.on('close', () => resolve(text));
  });
  const { code } = await exit;
  const lines = out.split('\n').filter(Boolean);
  if (code !== 0) lines.push(`the unwinder ended with code ${code}: some of the pod is left (see above); minipod gc tries again`);
  return lines;
}

export async function teardownPod(native: NativeBinding, roots: StateRoots, name: string, opts: TeardownOptions = {}): Promise<string[]> {
  const dirs = podDirs(roots, name);
  let report: string[] = [];
  await withPodLock(native, roots, name, async () => {
    if (!existsSync(dirs.run) && !existsSync(dirs.lib)) return;
    report = await unwind(native, opts.keepState ? 'keep' : 'remove', dirs.run, dirs.lib);
  });
  if (!opts.keepState && !existsSync(dirs.run)) rmSync(path.join(roots.run, 'locks', `${name}.lock`), { force: true });
  return report;
}
