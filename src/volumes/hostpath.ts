// hostPath volumes: the type checks Kubernetes makes before mounting (pkg/volume/hostpath),
// and the creation the *OrCreate types ask for. All checks of a pod run before anything is
// created, so a mismatch on the third volume leaves no directory made for the first.

import { closeSync, mkdirSync, openSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

import { FieldError } from '../errors.ts';
import type { HostPathVolumeSource } from '../spec/types.ts';
import { cleanPath } from './names.ts';

export const HOSTPATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'] as const;

/** What prepare must do for a hostPath that passed its check. */
export type HostPathAction = 'none' | 'mkdir' | 'touch';

function statOf(p: string): Stats | undefined {
  try {
    return statSync(p); // follows symlinks, as the kubelet's os.Stat does
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function what(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  return 'something else';
}

const WANT: Record<string, [string, (s: Stats) => boolean]> = {
  Directory: ['a directory', (s) => s.isDirectory()],
  DirectoryOrCreate: ['a directory', (s) => s.isDirectory()],
  File: ['a regular file', (s) => s.isFile()],
  FileOrCreate: ['a regular file', (s) => s.isFile()],
  Socket: ['a UNIX socket', (s) => s.isSocket()],
  CharDevice: ['a character device', (s) => s.isCharacterDevice()],
  BlockDevice: ['a block device', (s) => s.isBlockDevice()],
};

/** Checks one hostPath against its type; field is `spec.volumes[i]`. Touches nothing. */
export function checkHostPath(src: HostPathVolumeSource, field: string): HostPathAction {
  const p = cleanPath(src.path);
  const type = src.type ?? '';
  const f = `${field}.hostPath.path`;
  const st = statOf(p);
  if (type === '') return st ? 'none' : 'mkdir'; // unchecked; a missing path becomes a directory, as containerd does
  const want = WANT[type];
  if (!want) throw new FieldError(`${field}.hostPath.type`, `unknown hostPath type "${type}"; one of ${HOSTPATH_TYPES.map((t) => `"${t}"`).join(', ')}`);
  if (!st) {
    if (type === 'DirectoryOrCreate') return 'mkdir';
    if (type === 'FileOrCreate') {
      // Kubernetes does not create the parent of a FileOrCreate path.
      const parent = statOf(path.dirname(p));
      if (!parent?.isDirectory()) throw new FieldError(f, `hostPath type check failed: ${p} does not exist and its directory ${path.dirname(p)} does not either (FileOrCreate creates the file, not its directory)`);
      return 'touch';
    }
    throw new FieldError(f, `hostPath type check failed: ${p} does not exist (type ${type} needs ${want[0]})`);
  }
  if (!want[1](st)) throw new FieldError(f, `hostPath type check failed: ${p} is ${what(st)}, not ${want[0]} (type ${type})`);
  return 'none';
}

/** Makes what checkHostPath asked for (modes as the kubelet uses: 0755 directories, 0644 files). */
export function createHostPath(src: HostPathVolumeSource, action: HostPathAction): void {
  const p = cleanPath(src.path);
  if (action === 'mkdir') mkdirSync(p, { recursive: true, mode: 0o755 });
  else if (action === 'touch') {
    try {
      closeSync(openSync(p, 'wx', 0o644));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // made meanwhile: fine
    }
  }
}
