// Which image each container runs: an imported image by reference, or an absolute path to
// a rootfs tree. A missing image is an error naming the container's field and the image.

import { realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { FieldError } from '../errors.ts';
import { pullImage, resolveImage, type PullEvent } from '../image/index.ts';
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
      users: rec.users ?? readImageUsers(rec.rootfs), // recorded at import; read for older images
      ...(rec.layers && { lower: [...rec.layers].reverse() }),
    });
  }
  return out;
}

/** `run --pull`: what to do about images when a container's imagePullPolicy does not say. */
export type PullMode = 'missing' | 'always' | 'never';

/**
 * Pulls what the pod's containers need before anything is planned. A container's
 * imagePullPolicy decides (Always, IfNotPresent, Never, as Kubernetes defines them); without
 * one, `mode` does — `missing` by default, as `podman kube play` does, not Kubernetes'
 * "Always for :latest": an image imported here must not send `busybox` to docker.io.
 * Absolute image paths are never pulled.
 */
export async function ensureImages(roots: StateRoots, pod: Pod, mode: PullMode, onProgress?: (event: PullEvent | { type: 'pulling'; ref: string; container: string }) => void, registries?: string): Promise<void> {
  const all = [
    ...(pod.spec.initContainers ?? []).map((c, i) => ({ c, field: `spec.initContainers[${i}]` })),
    ...pod.spec.containers.map((c, i) => ({ c, field: `spec.containers[${i}]` })),
  ];
  const pulled = new Set<string>();
  for (const { c, field } of all) {
    if (path.isAbsolute(c.image) || pulled.has(c.image)) continue;
    const policy = c.imagePullPolicy ?? { missing: 'IfNotPresent', always: 'Always', never: 'Never' }[mode];
    let present: boolean;
    try {
      present = resolveImage(roots, c.image) !== undefined;
    } catch (e) {
      throw new FieldError(`${field}.image`, `container "${c.name}": ${(e as Error).message}`);
    }
    if (policy === 'Never' || (policy === 'IfNotPresent' && present)) {
      if (!present && policy === 'Never') {
        throw new FieldError(`${field}.imagePullPolicy`, `container "${c.name}": image "${c.image}" is not present and the pull policy is Never`, { code: 'ENOENT' });
      }
      continue;
    }
    onProgress?.({ type: 'pulling', ref: c.image, container: c.name });
    try {
      // Found again by its own name (`busybox` is stored as docker.io/library/busybox:latest).
      await pullImage(roots, c.image, { onProgress, registries });
    } catch (e) {
      throw new FieldError(`${field}.image`, `container "${c.name}": image "${c.image}" is not here and could not be pulled: ${(e as Error).message}`, {
        code: (e as { code?: string }).code,
        exitCode: (e as { exitCode?: number }).exitCode,
      });
    }
    pulled.add(c.image);
  }
}
