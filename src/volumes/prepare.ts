// Making a pod's volumes on the host, before the supervisor starts: directories, tmpfs
// mounts (each journaled in state.json before it is made, so the unwind finds it after a
// crash), projected files, hostPaths the *OrCreate types ask for.

import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { FieldError } from '../errors.ts';
import type { HookContext } from '../runtime/phases.ts';
import { journal, type HostRecord } from '../state/host.ts';
import { checkHostPath, createHostPath, type HostPathAction } from './hostpath.ts';
import { volumeLayout, type VolumeLayout } from './layout.ts';
import { projectVolume, type ProjectedFile } from './projection.ts';
import { tmpfsOptions } from './steps.ts';

/** Directories the kubelet makes for an emptyDir are 0777: any user of the pod may write. */
const EMPTYDIR_MODE = 0o777;

/**
 * fsGroup (Kubernetes SetVolumeOwnership): the volume's tree gets the group, group read
 * (and write unless read-only) and setgid directories, so files made later keep the group.
 */
function applyFsGroup(dir: string, gid: number, readOnly: boolean): void {
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    chownSync(p, -1, gid);
    let mask = readOnly ? 0o440 : 0o660;
    if (st.isDirectory()) mask |= 0o110 | 0o2000;
    chmodSync(p, (st.mode & 0o7777) | mask);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
}

/** Writes projected files into a fresh directory we own (paths were checked: relative, no '..'). */
export function writeProjection(dir: string, files: ProjectedFile[]): void {
  for (const f of files) {
    const dst = path.join(dir, f.path);
    mkdirSync(path.dirname(dst), { recursive: true, mode: 0o755 });
    writeFileSync(dst, f.data, { mode: f.mode, flag: 'wx' });
    chmodSync(dst, f.mode); // not narrowed by the umask
  }
}

function mountTmpfs(ctx: HookContext, host: HostRecord, dir: string, options: string, flags: string[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  journal(host, { op: 'umount', path: dir });
  ctx.native.mount('tmpfs', dir, 'tmpfs', flags, options);
}

function prepareOne(ctx: HookContext, host: HostRecord, l: VolumeLayout, files: ProjectedFile[] | undefined, action: HostPathAction): void {
  const vol = (ctx.pod.spec.volumes ?? []).find((v) => v.name === l.name)!;
  const fsGroup = ctx.pod.spec.securityContext?.fsGroup;
  switch (l.kind) {
    case 'hostPath':
      createHostPath(vol.hostPath!, action);
      return;
    case 'claim':
      // A named volume: made by the stream's PersistentVolumeClaim or `minipod volume create`.
      if (!existsSync(l.source)) {
        const claim = vol.persistentVolumeClaim!.claimName;
        throw new FieldError(`${l.field}.persistentVolumeClaim.claimName`, `no volume named "${claim}": create it with \`minipod volume create ${claim}\`, or put a PersistentVolumeClaim named "${claim}" in the manifest`);
      }
      return;
    case 'emptyDir':
      mkdirSync(l.source, { recursive: true });
      chmodSync(l.source, EMPTYDIR_MODE);
      break;
    case 'memory':
      mountTmpfs(ctx, host, l.source, tmpfsOptions(l, files), ['nosuid', 'nodev']);
      chmodSync(l.source, EMPTYDIR_MODE);
      break;
    case 'secret':
      mountTmpfs(ctx, host, l.source, tmpfsOptions(l, files), ['nosuid', 'nodev', 'noexec']);
      writeProjection(l.source, files ?? []);
      break;
    case 'configMap':
    case 'downwardAPI':
      mkdirSync(l.source, { recursive: true, mode: 0o755 });
      writeProjection(l.source, files ?? []);
      break;
  }
  if (fsGroup !== undefined) applyFsGroup(l.source, fsGroup, l.forceReadOnly);
}

export function prepareVolumes(ctx: HookContext, host: HostRecord): void {
  const vols = ctx.pod.spec.volumes ?? [];
  // Check every hostPath first: a mismatch must not leave directories made for others.
  const actions = vols.map((v, i) => (v.hostPath ? checkHostPath(v.hostPath, `spec.volumes[${i}]`) : 'none'));
  vols.forEach((v, i) => {
    const field = `spec.volumes[${i}]`;
    const l = volumeLayout(ctx.dirs, v, field);
    prepareOne(ctx, host, l, projectVolume(ctx, v, field), actions[i]);
  });
}
