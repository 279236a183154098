// The files of configMap, secret and downwardAPI volumes, computed without touching the
// host: a list of {path, data, mode} that prepare writes. Computing them while planning is
// what makes a missing ConfigMap or key fail before anything is created.

import path from 'node:path';

import { FieldError } from '../errors.ts';
import type { Volume } from '../spec/types.ts';
import { allContainers } from './env.ts';
import { podFieldValue, resourceValue, type FieldInput } from './fieldref.ts';
import { keyProblem } from './names.ts';
import { configMapData, findConfigMap, findSecret, notFound, secretData, type DataInput } from './objects.ts';

export interface ProjectedFile {
  /** Relative to the volume's directory. */
  path: string;
  data: Buffer;
  mode: number;
}

export type ProjectionInput = DataInput & FieldInput;

/** Kubernetes' default file mode for configMap, secret and downwardAPI volumes. */
export const DEFAULT_MODE = 0o644;

/** Files from an object's keys: every key, or only the listed items (key -> path). */
function fromKeys(
  data: Map<string, Buffer>,
  src: { items?: { key: string; path: string; mode?: number }[]; defaultMode?: number; optional?: boolean },
  what: string,
  field: string,
): ProjectedFile[] {
  const mode = src.defaultMode ?? DEFAULT_MODE;
  if (!src.items) {
    return [...data.keys()].sort().map((key) => {
      const bad = keyProblem(key);
      if (bad) throw new FieldError(field, `${what}: ${bad}`);
      return { path: key, data: data.get(key)!, mode };
    });
  }
  const out: ProjectedFile[] = [];
  src.items.forEach((item, i) => {
    const v = data.get(item.key);
    if (v === undefined) {
      // An optional volume tolerates missing keys; a required one must have every item.
      if (src.optional) return;
      throw new FieldError(`${field}.items[${i}].key`, `${what} has no key "${item.key}"`);
    }
    out.push({ path: item.path, data: v, mode: item.mode ?? mode });
  });
  return out;
}

/**
 * The files of one projected volume, or undefined for other kinds. An optional object
 * that is missing gives an empty volume. field is `spec.volumes[i]`.
 */
export function projectVolume(input: ProjectionInput, vol: Volume, field: string): ProjectedFile[] | undefined {
  if (vol.configMap) {
    const src = vol.configMap;
    const cm = findConfigMap(input, src.name);
    if (!cm) {
      if (src.optional) return [];
      throw new FieldError(`${field}.configMap.name`, notFound('ConfigMap', src.name, input.pod));
    }
    return fromKeys(configMapData(cm), src, `ConfigMap "${src.name}"`, `${field}.configMap`);
  }
  if (vol.secret) {
    const src = vol.secret;
    const s = findSecret(input, src.secretName);
    if (!s) {
      if (src.optional) return [];
      throw new FieldError(`${field}.secret.secretName`, notFound('Secret', src.secretName, input.pod));
    }
    return fromKeys(secretData(s), src, `Secret "${src.secretName}"`, `${field}.secret`);
  }
  if (vol.projected) {
    // Each source as the volume of its kind (the projected defaultMode for files without a
    // mode), into one directory; two sources may not write one path.
    const seen = new Map<string, number>();
    return (vol.projected.sources ?? []).flatMap((src, k) => {
      const kind = (['configMap', 'secret', 'downwardAPI'] as const).find((x) => src[x]);
      if (!kind) return [];
      const one = { ...(src[kind] as object), defaultMode: (src[kind] as { defaultMode?: number }).defaultMode ?? vol.projected!.defaultMode };
      const files = projectVolume(input, { name: vol.name, [kind]: one } as Volume, `${field}.projected.sources[${k}]`) ?? [];
      for (const fl of files) {
        const other = seen.get(path.normalize(fl.path));
        if (other !== undefined) throw new FieldError(`${field}.projected.sources[${k}]`, `path "${fl.path}" is also written by sources[${other}]`);
        seen.set(path.normalize(fl.path), k);
      }
      return files;
    });
  }
  if (vol.downwardAPI) {
    const src = vol.downwardAPI;
    return (src.items ?? []).map((item, i) => {
      let text: string;
      if (item.fieldRef) text = podFieldValue(input, item.fieldRef.fieldPath);
      else {
        const ref = item.resourceFieldRef!;
        const c = allContainers(input.pod).find((x) => x.name === ref.containerName);
        if (!c) throw new FieldError(`${field}.downwardAPI.items[${i}].resourceFieldRef.containerName`, `no container named "${ref.containerName ?? ''}" in this pod`);
        text = resourceValue(c, ref);
      }
      return { path: item.path, data: Buffer.from(text, 'utf8'), mode: item.mode ?? src.defaultMode ?? DEFAULT_MODE };
    });
  }
  return undefined;
}

/** Bytes the files take on a tmpfs (whole pages), for sizing a secret volume's tmpfs. */
export function pagesNeeded(files: ProjectedFile[]): number {
  return files.reduce((n, f) => n + Math.ceil(f.data.length / 4096) * 4096, 0);
}
