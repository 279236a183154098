// Where minipod keeps things on the host.
//
// Two roots, as the FHS wants: persistent data (images, container layers, emptyDir contents,
// logs) under /var/lib/minipod, and runtime state (pod state files, the per-pod /dev/shm,
// address leases, locks) under /run/minipod. MINIPOD_ROOT=DIR (or --root DIR) moves both
// under DIR/lib and DIR/run, which is what tests do.

import path from 'node:path';

export interface StateRoots {
  /** Persistent data. */
  lib: string;
  /** Runtime state, gone after a reboot. */
  run: string;
}

export function stateRoots(root: string | undefined = process.env.MINIPOD_ROOT): StateRoots {
  if (root) {
    const abs = path.resolve(root);
    return { lib: path.join(abs, 'lib'), run: path.join(abs, 'run') };
  }
  return { lib: '/var/lib/minipod', run: '/run/minipod' };
}

export function imagesDir(r: StateRoots): string {
  return path.join(r.lib, 'images');
}

/** Directories of one pod. */
export interface PodDirs {
  /** Runtime: state.json, plan.json, shm/, etc/, supervisor socket. */
  run: string;
  /** Persistent: container layers, emptyDir volumes, logs. */
  lib: string;
}

export function podDirs(r: StateRoots, pod: string): PodDirs {
  return { run: path.join(r.run, 'pods', pod), lib: path.join(r.lib, 'pods', pod) };
}

export function podsRunDir(r: StateRoots): string {
  return path.join(r.run, 'pods');
}

export function podsLibDir(r: StateRoots): string {
  return path.join(r.lib, 'pods');
}
