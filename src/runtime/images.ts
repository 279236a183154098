// Which image each container runs: an imported image by reference, or an absolute path to
// a rootfs tree. A missing image is an error naming the container's field and the image.

import { realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { FieldError } from '../errors.ts';
import { resolveImage } from '../image/index.ts';
import { readImageUsers } from '../image/users.ts';
import { signalName } from '../plan/probes.ts';
import type { ImageInfo } from '../plan/container.ts';
import type { Pod } from '../spec/types.ts';
import type { StateRoots } from '../state/paths.ts';

/**
 * `image: /absolute/path`: a rootfs tree on the host, used as the overlay's read-only lower
 * layer. Like a hostPath it is the manifest author's choice and is trusted as such, with
 * limits: not the host's / (the container would see the whole host, read-only), nothing
 * inside minipod's own state, and no ':' ',' or '\\' (overlayfs would split the path into
 * other directories). The path is resolved once, so the plan names the real directory.
 */
function treeImage(roots: StateRoots, ref: string, field: string, name: string): string {
  if (/[:,\\]/.test(ref)) throw new FieldError(field, `container "${name}": image path "${ref}" must not contain ':', ',' or '\\'`);
  let real: string;
  try {
    real = realpathSync(ref);
    if (!statSync(real).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new FieldError(field, `container "${name}": image "${ref}" is not a directory (an absolute image path must be a rootfs tree)`, { code: 'ENOENT' });
  }
  if (real === '/') throw new FieldError(field, `container "${name}": image "${ref}" is the host's root directory; a container may not run over the host's /`);
  if (/[:,\\]/.test(real)) throw new FieldError(field, `container "${name}": image path "${real}" must not contain ':', ',' or '\\'`);
  for (const r of [roots.lib, roots.run]) {
    const rr = (() => {
      try {
        return realpathSync(r);
      } catch {
        return r;
      }
    })();
    if (real === rr || real.startsWith(rr + '/') || rr.startsWith(real + '/')) {
      throw new FieldError(field, `container "${name}": image "${ref}" is (or holds) minipod's own state (${r}); import it with \`minipod image import\` instead`);
    }
  }
  return real;
}

/** The image's StopSignal ("SIGQUIT", "QUIT" or "3") by name; an unknown one is an error. */
function imageStopSignal(s: string | undefined, field: string, name: string): string | undefined {
  if (s === undefined || s === '') return undefined;
  const byNumber = /^\d+$/.test(s) ? Object.entries(os.constants.signals).find(([, n]) => n === Number(s))?.[0] : undefined;
  const sig = signalName(byNumber ?? s.toUpperCase());
  if (!sig) throw new FieldError(field, `container "${name}": the image's StopSignal "${s}" is not a signal minipod knows`);
  return sig;
}

export function resolveContainerImages(roots: StateRoots, pod: Pod): Map<string, ImageInfo> {
  const out = new Map<string, ImageInfo>();
  const all = [
    ...(pod.spec.initContainers ?? []).map((c, i) => ({ c, field: `spec.initContainers[${i}].image` })),
    ...pod.spec.containers.map((c, i) => ({ c, field: `spec.containers[${i}].image` })),
  ];
  for (const { c, field } of all) {
    const ref = c.image;
    if (path.isAbsolute(ref)) {
      const rootfs = treeImage(roots, ref, field, c.name);
      out.set(c.name, { ref, rootfs, env: [], users: readImageUsers(rootfs) });
      continue;
    }
    let rec;
    try {
      rec = resolveImage(roots, ref);
    } catch (e) {
      const denied = (e as NodeJS.ErrnoException).code === 'EACCES' || /EACCES/.test((e as Error).message);
      const hint = denied && process.getuid?.() !== 0 ? ' (the image store is root\'s: run this as root, or name the image by an absolute path)' : '';
      throw new FieldError(field, `container "${c.name}": ${(e as Error).message}${hint}`);
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
      stopSignal: imageStopSignal(rec.config.stopSignal, field, c.name),
      users: rec.users ?? readImageUsers(rec.rootfs),
      ...(rec.layers && { lower: [...rec.layers].reverse() }),
    });
  }
  return out;
}
