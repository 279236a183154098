// A lock file per thing being changed: created with O_EXCL and holding the owner's pid. A
// lock whose pid is dead is stale and broken (under a second O_EXCL file, so that two
// waiters cannot both break it and then both take it). Not re-entrant. The image store's
// index has one (`images/.lock`), and so does every layer being fetched or unpacked
// (`images/layers/.lock-<hex>`), so that two pulls of one image do the work once.

import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { imageError } from './unpack.ts';

/** Runs `fn` holding `lock`; waits up to `timeoutMs`, then fails with ERR_IMAGE_LOCKED. */
export async function withFileLock<T>(lock: string, fn: () => Promise<T> | T, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      const fd = fs.openSync(lock, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      try {
        fs.writeSync(fd, `${process.pid}\n`);
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readPid(lock);
    if (holder !== undefined && !alive(holder)) {
      breakStaleLock(lock, holder);
      continue;
    }
    if (Date.now() > deadline) throw imageError(`${what} is locked by pid ${holder ?? '?'} (${lock})`, 'ERR_IMAGE_LOCKED');
    await sleep(delay);
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Whether a lock file names a live process (used by sweeps that must not touch its work). */
export function lockHeld(lock: string): boolean {
  const pid = readPid(lock);
  return pid !== undefined && alive(pid);
}

function breakStaleLock(lock: string, deadPid: number): void {
  const guard = `${lock}.break`;
  try {
    fs.closeSync(fs.openSync(guard, 'wx'));
  } catch {
    // Another process is breaking it; a guard left by a breaker that died is removed here.
    try {
      if (Date.now() - fs.statSync(guard).mtimeMs > 10_000) fs.rmSync(guard, { force: true });
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    if (readPid(lock) === deadPid) fs.rmSync(lock, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
