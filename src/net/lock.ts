// The network's lock: one flock per bridge directory, serialising address allocation,
// host-port claims and bridge creation between minipod processes. flock locks belong to an
// open file description, so two holders inside one process would not exclude each other
// (and a blocking second flock would deadlock the event loop): an in-process queue per
// lock file goes in front of it.

import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

import type { NativeBinding } from '../native/binding.ts';

export type Flock = Pick<NativeBinding, 'flock'>;

const queues = new Map<string, Promise<unknown>>();

export async function withLock<T>(native: Flock, dir: string, fn: () => Promise<T> | T): Promise<T> {
  const file = path.join(dir, 'lock');
  const before = queues.get(file) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const tail = before.then(() => mine);
  queues.set(file, tail);
  await before;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const fd = openSync(file, 'a', 0o600);
    try {
      native.flock(fd, true, true);
      return await fn();
    } finally {
      closeSync(fd); // releases the flock
    }
  } finally {
    release();
    if (queues.get(file) === tail) queues.delete(file);
  }
}
