// Where each volume of a pod lives on the host, and how containers see it.
//
//   emptyDir              LIB/pods/POD/volumes/NAME       a directory on disk (0777, as the kubelet makes it)
//   emptyDir Memory       RUN/pods/POD/volumes/NAME       a tmpfs of sizeLimit
//   secret                RUN/pods/POD/volumes/NAME       a tmpfs: secrets never touch the disk
//   configMap, downwardAPI LIB/pods/POD/volumes/NAME      plain files, read-only in containers
//   projected             as secret when one of its sources is a Secret, else as configMap
//   hostPath              the path itself
//   persistentVolumeClaim LIB/volumes/CLAIM/_data          a named volume (named.ts): outlives the pod
//
// Everything under the pod's directories goes with the pod (teardown unmounts and removes
// them); a hostPath stays.

import path from 'node:path';

import { FieldError } from '../errors.ts';
import type { PodDirs } from '../state/paths.ts';
import type { Volume } from '../spec/types.ts';
import { claimSource } from './named.ts';
import { cleanPath, dnsLabelProblem } from './names.ts';
import { parseQuantity, wholeUnits } from './quantity.ts';

export type VolumeKind = 'emptyDir' | 'memory' | 'hostPath' | 'configMap' | 'secret' | 'downwardAPI' | 'claim';

export interface VolumeLayout {
  name: string;
  /** `spec.volumes[i]`, for errors. */
  field: string;
  kind: VolumeKind;
  /** What containers bind: a host directory (or a file, for hostPath). */
  source: string;
  /** Kubernetes mounts configMap, secret and downwardAPI volumes read-only whatever the mount says. */
  forceReadOnly: boolean;
  /** Bytes of the tmpfs for memory emptyDirs with a sizeLimit; undefined = tmpfs default (half the RAM). */
  sizeBytes?: number;
}

export const VOLUME_KINDS = ['emptyDir', 'hostPath', 'configMap', 'secret', 'downwardAPI', 'projected', 'persistentVolumeClaim'] as const;

/** The sources a volume declares: its keys other than name (any other source counts, to be reported). */
export function declaredSources(vol: Volume): string[] {
  return Object.keys(vol).filter((k) => k !== 'name' && vol[k] !== undefined && vol[k] !== null);
}

export function volumesDir(dirs: PodDirs, onTmpfs: boolean): string {
  return path.join(onTmpfs ? dirs.run : dirs.lib, 'volumes');
}

export function volumeLayout(dirs: PodDirs, vol: Volume, field: string): VolumeLayout {
  // The name becomes a directory name: never let it be a path.
  const bad = dnsLabelProblem(vol.name);
  if (bad) throw new FieldError(`${field}.name`, bad);
  const base = { name: vol.name, field, forceReadOnly: false };
  const under = (tmpfs: boolean) => path.join(volumesDir(dirs, tmpfs), vol.name);
  if (vol.emptyDir) {
    if (vol.emptyDir.medium === 'Memory') {
      const limit = vol.emptyDir.sizeLimit === undefined ? undefined : parseQuantity(vol.emptyDir.sizeLimit);
      return { ...base, kind: 'memory', source: under(true), sizeBytes: limit === undefined ? undefined : wholeUnits(limit) };
    }
    return { ...base, kind: 'emptyDir', source: under(false) };
  }
  if (vol.hostPath) return { ...base, kind: 'hostPath', source: cleanPath(vol.hostPath.path) };
  if (vol.persistentVolumeClaim) return { ...base, kind: 'claim', source: claimSource(dirs.lib, vol.persistentVolumeClaim.claimName), forceReadOnly: vol.persistentVolumeClaim.readOnly === true };
  if (vol.secret) return { ...base, kind: 'secret', source: under(true), forceReadOnly: true };
  if (vol.configMap) return { ...base, kind: 'configMap', source: under(false), forceReadOnly: true };
  if (vol.downwardAPI) return { ...base, kind: 'downwardAPI', source: under(false), forceReadOnly: true };
  // A projected volume with a Secret among its sources lives on a tmpfs, as a secret volume.
  if (vol.projected) {
    const secret = (vol.projected.sources ?? []).some((s) => s.secret);
    return { ...base, kind: secret ? 'secret' : 'configMap', source: under(secret), forceReadOnly: true };
  }
  const other = declaredSources(vol);
  throw new FieldError(other.length ? `${field}.${other[0]}` : field, other.length ? `volume source "${other[0]}" is not supported; minipod has ${VOLUME_KINDS.join(', ')}` : 'a volume needs a source, one of ' + VOLUME_KINDS.join(', '));
}
