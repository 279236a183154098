// Which image each container runs: an imported image by reference, or an absolute path to
// a rootfs tree. A missing image is an error naming the container's field and the image.

import { statSync } from 'node:fs';
import path from 'node:path';

import { FieldError } from '../errors.ts';
import { resolveImage } from '../image/index.ts';
import type { ImageInfo } from '../plan/container.ts';
import type { Pod } from '../spec/types.ts';
import type { StateRoots } from '../state/paths.ts';

export function resolveContainerImages(roots: StateRoots, pod: Pod): Map<string, ImageInfo> {
  const out = new Map<string, ImageInfo>();
  const all = [
    ...(pod.spec.initContainers ?? []).map((c, i) => ({ c, field: `spec.initContainers[${i}].image` })),
    ...pod.spec.containers.map((c, i) => ({ c, field: `spec.containers[${i}].image` })),
  ];
  for (const { c, field } of all) {
    const ref = c.image;
    if (path.isAbsolute(ref)) {
      let isDir = false;
      try {
        isDir = statSync(ref).isDirectory();
      } catch {
        // reported below
      }
      if (!isDir) throw new FieldError(field, `container "${c.name}": image "${ref}" is not a directory (an absolute image path must be a rootfs tree)`, { code: 'ENOENT' });
      out.set(c.name, { ref, rootfs: ref, env: [] });
      continue;
    }
    let rec;
    try {
      rec = resolveImage(roots, ref);
    } catch (e) {
      throw new FieldError(field, `container "${c.name}": ${(e as Error).message}`);
    }
    if (!rec) {
      throw new FieldError(field, `container "${c.name}": image "${ref}" not found; import it first with \`minipod image import ${ref} DIR-OR-TARBALL\``, {
        code: 'ENOENT',
      });
    }
    out.set(c.name, {
      ref: rec.name,
      rootfs: rec.rootfs,
      env: rec.config.env ?? [],
      entrypoint: rec.config.entrypoint,
      cmd: rec.config.cmd,
      workingDir: rec.config.workingDir,
      user: rec.config.user,
    });
  }
  return out;
}
