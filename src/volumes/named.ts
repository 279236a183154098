// Named local volumes (`minipod volume`, and what a PersistentVolumeClaim is here, as in
// podman kube play): a directory that outlives pods.
//
//   <lib>/volumes/NAME/_data         what pods mount (0755 root, as podman makes it)
//   <lib>/volumes/NAME/volume.json   {name, createdAt, labels, claim?}: who made it
//
// A pod mounts a volume by persistentVolumeClaim.claimName. Several pods may mount one at
// once; `minipod volume rm` of one a pod uses (a pod not yet torn down whose manifest names
// it) is refused. Nothing of a volume is ever removed by a pod's teardown.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

import { EXIT, MinipodError } from '../errors.ts';
import type { Pod } from '../spec/types.ts';
import { rootOnlyDir, writeJsonAtomic } from '../state/files.ts';
import type { StateRoots } from '../state/paths.ts';
import { dnsLabelProblem } from './names.ts';

export interface NamedVolume {
  name: string;
  createdAt: string;
  labels: Record<string, string>;
  /** Made for a PersistentVolumeClaim of this file. */
  claim?: string;
  mountpoint: string;
}

export function namedVolumesDir(roots: StateRoots): string {
  return path.join(roots.lib, 'volumes');
}

/** The directory a claim's pods mount (the planner's view: no file is read). */
export function claimSource(podLib: string, claim: string): string {
  // <lib>/pods/POD -> <lib>/volumes/CLAIM/_data
  return path.join(podLib, '..', '..', 'volumes', claim, '_data');
}

function checkName(name: string): void {
  const bad = dnsLabelProblem(name);
  if (bad) throw new MinipodError(`volume name "${name}": ${bad}`, { code: 'EINVAL', exitCode: EXIT.usage });
}

export function getVolume(roots: StateRoots, name: string): NamedVolume | undefined {
  checkName(name);
  const dir = path.join(namedVolumesDir(roots), name);
  try {
    const meta = JSON.parse(readFileSync(path.join(dir, 'volume.json'), 'utf8')) as Omit<NamedVolume, 'mountpoint'>;
    return { ...meta, labels: meta.labels ?? {}, mountpoint: path.join(dir, '_data') };
  } catch {
    return existsSync(path.join(dir, '_data')) ? { name, createdAt: statSync(dir).mtime.toISOString(), labels: {}, mountpoint: path.join(dir, '_data') } : undefined;
  }
}

export function listVolumes(roots: StateRoots): NamedVolume[] {
  const dir = namedVolumesDir(roots);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && !dnsLabelProblem(n))
    .map((n) => getVolume(roots, n))
    .filter((v): v is NamedVolume => !!v)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Creates a volume; an existing one is returned as it is when ifMissing, else refused. */
export function createVolume(roots: StateRoots, name: string, o: { labels?: Record<string, string>; claim?: string; ifMissing?: boolean } = {}): NamedVolume {
  checkName(name);
  const existing = getVolume(roots, name);
  if (existing) {
    if (o.ifMissing) return existing;
    throw new MinipodError(`volume "${name}" already exists`, { code: 'EEXIST', exitCode: EXIT.inUse });
  }
  rootOnlyDir(namedVolumesDir(roots));
  const dir = path.join(namedVolumesDir(roots), name);
  // Made aside and renamed into place: a volume is there whole or not at all.
  const tmp = path.join(namedVolumesDir(roots), `.tmp-${process.pid}-${name}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.join(tmp, '_data'), { recursive: true, mode: 0o755 });
  const meta = { name, createdAt: new Date().toISOString(), labels: o.labels ?? {}, ...(o.claim ? { claim: o.claim } : {}) };
  writeJsonAtomic(path.join(tmp, 'volume.json'), meta, 0o600);
  try {
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (o.ifMissing && existsSync(dir)) return getVolume(roots, name)!; // made at the same time by another pod
    throw e;
  }
  return { ...meta, mountpoint: path.join(dir, '_data') };
}

/** Claims a pod's manifest names. */
export function claimsOf(pod: Pod): string[] {
  return (pod.spec.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));
}

/** The pods (not yet torn down) whose manifest names the volume. */
export function volumeUsers(roots: StateRoots, name: string): string[] {
  const pods = path.join(roots.run, 'pods');
  const users: string[] = [];
  for (const p of existsSync(pods) ? readdirSync(pods) : []) {
    try {
      const state = JSON.parse(readFileSync(path.join(pods, p, 'state.json'), 'utf8')) as { torndown?: boolean };
      if (state.torndown) continue;
    } catch {
      // a pod being created (no state yet): its manifest decides
    }
    try {
      const pod = JSON.parse(readFileSync(path.join(pods, p, 'pod.json'), 'utf8')) as Pod;
      if (claimsOf(pod).includes(name)) users.push(p);
    } catch {
      // no manifest yet: it cannot use the volume yet
    }
  }
  return users;
}

export function removeVolume(roots: StateRoots, name: string): void {
  const v = getVolume(roots, name);
  if (!v) throw new MinipodError(`no volume named "${name}"`, { code: 'ENOENT', exitCode: EXIT.notFound });
  const users = volumeUsers(roots, name);
  if (users.length) throw new MinipodError(`volume "${name}" is in use by pod(s) ${users.join(', ')}; remove them first`, { code: 'EBUSY', exitCode: EXIT.inUse });
  const dir = path.join(namedVolumesDir(roots), name);
  const trash = path.join(namedVolumesDir(roots), `.trash-${process.pid}-${name}`);
  renameSync(dir, trash); // gone from the name at once, then deleted
  rmSync(trash, { recursive: true, force: true });
}

/** Removes every volume no pod uses; returns their names. */
export function pruneVolumes(roots: StateRoots): string[] {
  const out: string[] = [];
  for (const v of listVolumes(roots)) {
    if (volumeUsers(roots, v.name).length) continue;
    removeVolume(roots, v.name);
    out.push(v.name);
  }
  return out;
}
