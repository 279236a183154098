// User namespaces (spec.hostUsers: false), as a plan transformation: pure data, printed by
// `minipod plan`.
//
// The pod gets one user namespace, made by the supervisor before pause with the 65536 ids
// leased for the pod (src/state/userns-ids.ts): container id N is host id BASE+N, so the
// container's root is an unprivileged host user that no other pod shares. What changes:
//
//   pause       its pid and mount namespaces are made as before; then, after its mounts,
//               it joins the user namespace and creates the pod's network, UTS and IPC
//               namespaces inside it (so they belong to it, as in Kubernetes).
//   containers  they join the pod's namespaces as host root, make their mount namespace
//               and mounts as host root (so that namespace is not theirs: nothing inside
//               can mount or unmount in it), and join the user namespace last, just before
//               their identity (uid, gid, groups are then the container's ids).
//   files       image layers and minipod's volumes (emptyDir, configMap, secret,
//               projected, named volumes, /etc/hosts ...) are idmapped mounts: what is host uid 0 on disk
//               reads as the container's root and its writes land as uid 0, with no chown.
//               Each start's writable layer is a fresh directory owned by BASE (the overlay's
//               root). hostPath volumes are NOT idmapped: host files keep their host owners,
//               so a file only host root may read stays unreadable to the container's root.
//   /dev        its tmpfs belongs to BASE, devpts gives terminals the group BASE+5 (tty).
//   exec        probes, hooks and `minipod exec` join the container's user namespace too.

import path from 'node:path';

import { FieldError } from '../errors.ts';
import type { Pod } from '../spec/types.ts';
import type { ContainerPlan, MountOp, NamespaceOp, PodPlan, ProcessPlan } from './types.ts';

/** How many ids a pod gets: the kubelet's and podman's --userns=auto size. */
export const USERNS_SIZE = 65536;

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface UserNamespacePlan {
  uidMap: IdMapping[];
  gidMap: IdMapping[];
}

/** Kubernetes' validation of hostUsers: false, and minipod's own limits. */
export function checkUserNamespace(pod: Pod): void {
  if (pod.spec.hostUsers !== false) return;
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (pod.spec[f]) throw new FieldError(`spec.${f}`, 'cannot be set together with hostUsers: false (a host namespace is not the pod\'s user namespace\'s)');
  }
}

function joinUser(p: ProcessPlan, path: string): void {
  if (!p.namespaces.some((n) => n.type === 'user')) p.namespaces.push({ type: 'user', action: 'join', path, after: 'mounts' });
}

/** A bind of the host's own files (a hostPath volume, a device node), which keep their host owners. */
function hostOwned(m: Extract<MountOp, { op: 'bind' }>, hostPaths: string[], shm: string): boolean {
  const src = m.sourceRoot ?? m.source;
  return src.startsWith('/dev/') || src === shm || hostPaths.some((h) => src === h || src.startsWith(h.endsWith('/') ? h : h + '/'));
}

function containerMounts(mounts: MountOp[], base: number, hostPaths: string[], shm: string): MountOp[] {
  const out: MountOp[] = [];
  for (const m of mounts) {
    if (m.op === 'rootfs' && m.kind === 'overlay') {
      // The layers' parent directories, each idmapped once (layers of one store share one).
      for (const d of [...new Set(m.lower.map((l) => path.dirname(l)))]) out.push({ op: 'idmap', path: d });
      out.push(m);
    } else if (m.op === 'rootfs' && m.kind === 'bind') {
      out.push({ op: 'idmap', path: m.source }, m);
    } else if (m.op === 'bind' && !hostOwned(m, hostPaths, shm)) {
      out.push({ ...m, idmap: true });
    } else if (m.op === 'mount' && m.fstype === 'tmpfs' && m.dst === '/dev') {
      out.push({ ...m, options: { ...m.options, uid: String(base), gid: String(base) } });
    } else if (m.op === 'mount' && m.fstype === 'devpts') {
      out.push({ ...m, options: { ...m.options, gid: String(base + 5) } });
    } else {
      out.push(m);
    }
  }
  return out;
}

/** Exec probes and hooks of a container (they enter it as `minipod exec` does). */
function execPlans(c: ContainerPlan): ProcessPlan[] {
  const out: ProcessPlan[] = [];
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    const h = v as { kind?: string; process?: ProcessPlan };
    if (h.kind === 'exec' && h.process) out.push(h.process);
    for (const x of Object.values(v)) walk(x);
  };
  walk(c.probes);
  walk(c.hooks);
  return out;
}

/**
 * The plan of a pod with hostUsers: false, its ids starting at host id base. hostPaths: the
 * pod's hostPath volumes (not idmapped); every other bind is minipod's data (volumes, named
 * volumes, /etc files) and is.
 */
export function applyUserNamespace(plan: PodPlan, base: number, hostPaths: string[]): PodPlan {
  const map = [{ containerID: 0, hostID: base, size: USERNS_SIZE }];
  plan.userNamespace = { uidMap: map, gidMap: map.map((m) => ({ ...m })) };
  // pause: pid and mnt first (as host root), then the user namespace and, inside it, the rest.
  const later = (n: NamespaceOp): NamespaceOp => (n.type === 'pid' || n.type === 'mnt' ? n : { ...n, after: 'mounts' });
  plan.pause.namespaces = [...plan.pause.namespaces.map(later), { type: 'user', action: 'join', path: '@pod/user', after: 'mounts' }];
  // Joins come before creates within a stage: the created namespaces belong to the user one.
  plan.pause.namespaces.sort((a, b) => Number(a.after === 'mounts') - Number(b.after === 'mounts') || Number(a.action === 'create') - Number(b.action === 'create'));
  for (const c of [...plan.initContainers, ...plan.containers]) {
    c.process.mounts = containerMounts(c.process.mounts, base, hostPaths, path.join(plan.dirs.run, 'shm'));
    joinUser(c.process, '@pod/user');
    c.layerOwner = { uid: base, gid: base };
    for (const p of execPlans(c)) joinUser(p, `@container:${c.name}/user`);
  }
  return plan;
}
