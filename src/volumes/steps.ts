// What the volumes do on the host, as plan host steps (`minipod plan` prints them), and the
// tmpfs options prepare uses, so that the plan shows exactly what is done.

import path from 'node:path';

import type { HostStep } from '../plan/types.ts';
import type { VolumeLayout } from './layout.ts';
import { pagesNeeded, type ProjectedFile } from './projection.ts';

/** Room on a secret tmpfs beyond its files' pages (directories, a later larger copy). */
const SECRET_SLACK = 1 << 20;

export function tmpfsOptions(l: VolumeLayout, files: ProjectedFile[] | undefined): string {
  if (l.kind === 'secret') return `mode=0755,size=${pagesNeeded(files ?? []) + SECRET_SLACK}`;
  return `mode=0777${l.sizeBytes !== undefined ? `,size=${l.sizeBytes}` : ''}`;
}

function writes(l: VolumeLayout, files: ProjectedFile[]): string[] {
  return files.map((f) => `${path.join(l.source, f.path)}(${f.mode.toString(8).padStart(4, '0')})`);
}

export function volumeHostSteps(l: VolumeLayout, files: ProjectedFile[] | undefined, from: string): HostStep[] {
  const what = `volume "${l.name}" (${from})`;
  switch (l.kind) {
    case 'hostPath':
    case 'claim':
      return [{ what, command: ['bind-source', l.source] }];
    case 'emptyDir':
      return [{ what, command: ['mkdir', '-m', '0777', l.source] }];
    case 'memory':
      return [{ what, command: ['mount', '-t', 'tmpfs', '-o', `nosuid,nodev,${tmpfsOptions(l, files)}`, 'tmpfs', l.source] }];
    case 'secret':
      return [
        { what, command: ['mount', '-t', 'tmpfs', '-o', `nosuid,nodev,noexec,${tmpfsOptions(l, files)}`, 'tmpfs', l.source] },
        { what: `${what} files`, command: ['write', ...writes(l, files ?? [])] },
      ];
    default:
      return [
        { what, command: ['mkdir', '-m', '0755', l.source] },
        { what: `${what} files`, command: ['write', ...writes(l, files ?? [])] },
      ];
  }
}
