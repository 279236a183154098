// The mount steps of one container's volumeMounts: a bind of the volume's host source, or,
// with subPath / subPathExpr, a bind of a path inside it that the executor resolves with
// RESOLVE_BENEATH. That is what refuses a symlink planted in a shared volume to lead out of
// it (Kubernetes CVE-2017-1002101, CVE-2021-25741): the check and the open are one syscall,
// so there is no window between them for another container to swap the path.

import { FieldError } from '../errors.ts';
import { expand } from '../plan/expand.ts';
import type { MountFlag, MountOp } from '../plan/types.ts';
import type { Container, VolumeMount } from '../spec/types.ts';
import type { VolumeLayout } from './layout.ts';
import { cleanPath, relativePathProblem } from './names.ts';

/**
 * subPathExpr as the kubelet expands it (ExpandContainerVolumeMounts): $(VAR) from the
 * container's own env; a variable that is unset or empty is an error, not left as written.
 */
export function expandSubPath(expr: string, env: Map<string, string>, field: string): string {
  const missing = new Set<string>();
  const out = expand(expr, (name) => {
    const v = env.get(name);
    if (!v) missing.add(name);
    return v ?? '';
  });
  if (missing.size) throw new FieldError(field, `missing value for ${[...missing].sort().join(', ')} (subPathExpr uses the container's env)`);
  return out;
}

function subPathOf(vm: VolumeMount, env: Map<string, string>, field: string): string | undefined {
  if (vm.subPath) return vm.subPath;
  if (!vm.subPathExpr) return undefined;
  const f = `${field}.subPathExpr`;
  const sub = expandSubPath(vm.subPathExpr, env, f);
  const bad = relativePathProblem(sub, `subPathExpr "${vm.subPathExpr}" expands to a path that`);
  if (bad) throw new FieldError(f, bad);
  return sub;
}

/** field is the container's, e.g. `spec.containers[1]`; env its resolved variables. */
export function containerMounts(layouts: Map<string, VolumeLayout>, c: Container, field: string, env: Map<string, string>): MountOp[] {
  return (c.volumeMounts ?? []).map((vm, j) => {
    const f = `${field}.volumeMounts[${j}]`;
    const vol = layouts.get(vm.name);
    if (!vol) throw new FieldError(`${f}.name`, `no volume named "${vm.name}" in spec.volumes`);
    const readOnly = vol.forceReadOnly || vm.readOnly === true;
    // Volumes minipod makes are nodev (a node made in an emptyDir never opens); a hostPath
    // is the manifest's own choice and may be a device (type CharDevice/BlockDevice).
    const flags: MountFlag[] = vol.kind === 'hostPath' ? [] : ['nodev'];
    const sub = subPathOf(vm, env, f);
    // HostToContainer and Bidirectional (validate.ts: a whole hostPath): a slave or a peer of
    // the host's mount, as the kubelet asks of its runtime (rslave / rshared).
    const propagation = vm.mountPropagation === 'Bidirectional' ? 'rshared' : vm.mountPropagation === 'HostToContainer' ? 'rslave' : undefined;
    if (sub === undefined || cleanPath(sub) === '.') {
      return { op: 'bind', source: vol.source, dst: vm.mountPath, readOnly, recursive: true, ...(flags.length ? { flags } : {}), ...(propagation ? { propagation } : {}) } satisfies MountOp;
    }
    return {
      op: 'bind',
      sourceRoot: vol.source,
      source: cleanPath(sub),
      // Kubernetes creates a missing subPath as a directory (inside the volume, beneath it).
      createSource: true,
      dst: vm.mountPath,
      readOnly,
      recursive: true,
      ...(flags.length ? { flags } : {}),
    } satisfies MountOp;
  });
}
