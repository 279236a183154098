// What every row needs: where things are, how many runs, and a logger.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Ctx {
  /** The repository (bin/minipod, build/Release, rootfs/). */
  repo: string;
  /** Scratch directory of this run: rootfs, tarballs, OCI bundle, pod files. */
  work: string;
  /** minipod's state root for the bench (MINIPOD_ROOT): its pods never mix with others'. */
  root: string;
  /** The bench pod (two busybox containers, emptyDir, hostPort 8888). */
  podFile: string;
  hostPort: number;
  /** What the writer container puts in index.html. */
  body: string;
  runs: { pod: number; spawn: number; e2e: number; many: Record<number, number>; import: number };
  log(msg: string): void;
}

export const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}
