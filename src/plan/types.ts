// The plan: plain data that says exactly what the native executor does for one process.
//
// Everything here is computed in TypeScript without root and without touching the system,
// so it can be printed (`minipod plan`), compared in unit tests and edited by a researcher.
// The native executor (native/exec/) walks it step by step, re-checks each step and reports
// the first failure as {step, syscall, errno, path}. The JSON form of these types IS the wire
// format: the addon and the per-pod supervisor parse the same JSON (native/exec/plan.c).

import type { HooksPlan, ProbesPlan } from './probes.ts';

/** Namespace kinds, named as in /proc/PID/ns. */
export type NamespaceType = 'mnt' | 'uts' | 'ipc' | 'net' | 'pid' | 'cgroup' | 'user';

/**
 * One namespace step. Joins run first, in list order, from fds the parent opened before the
 * clone; then every `create` is unshared at once. A `join` path may name a process of the pod
 * symbolically, resolved by whoever spawns the plan to a pidfd of that process, which the
 * child joins with setns(pidfd, CLONE_NEW…) — never a /proc/PID path, which could name
 * another process by the time it is opened:
 *   "@pause/net"             -> pause's pidfd, its network namespace
 *   "@container:web/mnt"     -> container web's pidfd, its mount namespace
 *   "@pod/user"              -> the pod's user namespace (hostUsers: false), held by the supervisor
 * The type after the slash must be the step's own.
 *
 * `after: 'mounts'` moves a step to once the mount steps are done (src/plan/userns.ts): the
 * user namespace is joined there, so the container's mount namespace stays host root's.
 * A user namespace is only ever joined (the supervisor makes it with the pod's mappings).
 */
export type NamespaceOp =
  | { type: NamespaceType; action: 'create'; after?: 'mounts' }
  | { type: NamespaceType; action: 'join'; path: string; after?: 'mounts' };

/** Mount flags that map 1:1 onto MOUNT_ATTR_* / MS_* bits. */
export type MountFlag = 'ro' | 'nosuid' | 'nodev' | 'noexec' | 'relatime' | 'noatime';

/**
 * One step of the mount sequence, executed in order inside the new mount namespace.
 * `target` of `rootfs` is a host path; every other `dst`/`path` is inside the new root and
 * is resolved with openat2(RESOLVE_IN_ROOT), so a symlink can never lead out of the rootfs.
 * Missing destinations are created (directories, or empty files when the source is a file).
 */
export type MountOp =
  /** mount --make-r{private,slave} / : stop our mounts from propagating back to the host. */
  | { op: 'propagation'; mode: 'rprivate' | 'rslave' }
  /** The container's root: an overlay of read-only lower layers with a per-container upper. */
  /**
   * The container's root: an overlay of read-only lower layers with a per-start upper.
   * upper and work name start 0 (`upper-0`, `work-0`); the supervisor gives start N a fresh
   * `upper-N` and `work-N` in the same directory.
   */
  | { op: 'rootfs'; kind: 'overlay'; lower: string[]; upper: string; work: string; target: string; readOnly?: boolean; flags?: MountFlag[] }
  /** The container's root: a bind of an existing tree (a rootfs path given in the manifest). */
  | { op: 'rootfs'; kind: 'bind'; source: string; target: string; readOnly?: boolean; flags?: MountFlag[] }
  /** An empty root of its own (pause: nothing of the host's filesystem is reachable through it). */
  | { op: 'rootfs'; kind: 'tmpfs'; target: string; readOnly?: boolean; flags?: MountFlag[]; options?: Record<string, string | true> }
  /** A new filesystem instance (proc, sysfs, tmpfs, devpts, mqueue). */
  | { op: 'mount'; fstype: string; source: string; dst: string; flags: MountFlag[]; options?: Record<string, string | true> }
  /**
   * Bind a host path (file or directory) into the rootfs. With sourceRoot, `source` is a
   * path relative to sourceRoot resolved with RESOLVE_BENEATH: a symlink that leads out of
   * sourceRoot makes the mount fail (EXDEV) instead of exposing the host — the safe subPath.
   * createSource creates a missing source directory the same way (Kubernetes creates a
   * missing subPath as a directory).
   */
  | {
      op: 'bind';
      source: string;
      dst: string;
      readOnly: boolean;
      recursive: boolean;
      flags?: MountFlag[];
      optional?: boolean;
      sourceRoot?: string;
      createSource?: boolean;
      /** An idmapped mount with the pod's user namespace (hostUsers: false; src/plan/userns.ts). */
      idmap?: boolean;
      /**
       * Shared or slave with the host's mount of source (Kubernetes' Bidirectional and
       * HostToContainer, an OCI mount's rshared/rslave): cloned before the namespace is made
       * private, so host mounts under it show in the container, and (shared) the container's
       * show on the host. A plain source only (no sourceRoot, idmap, createSource).
       */
      propagation?: 'shared' | 'slave' | 'rshared' | 'rslave';
    }
  /**
   * A host directory remounted over itself, idmapped with the pod's user namespace, in this
   * mount namespace only (after a private propagation step, before the rootfs): the overlay's
   * layers under it then show the image's owners as the container's ids.
   */
  | { op: 'idmap'; path: string }
  /** Create a device node (only inside a tmpfs /dev we mounted). */
  | { op: 'mknod'; dst: string; kind: 'c' | 'b' | 'p'; major: number; minor: number; mode: number; uid?: number; gid?: number }
  | { op: 'symlink'; target: string; dst: string }
  | { op: 'mkdir'; dst: string; mode: number }
  /** Hide a path: /dev/null over a file, an empty read-only tmpfs over a directory. Missing paths are skipped. */
  | { op: 'mask'; dst: string }
  /** Bind a path onto itself read-only. Missing paths are skipped. */
  | { op: 'readonly'; dst: string }
  /** pivot_root into the rootfs and detach the old root. Always the last mount step. rootPropagation: the new /'s afterwards (an OCI config's rootfsPropagation). */
  | { op: 'pivot'; rootPropagation?: 'shared' | 'slave' | 'private' | 'unbindable' | 'rshared' | 'rslave' | 'rprivate' | 'runbindable' }
  /**
   * Instead of pivot, last, for a process that is to stay in its spawner's mount namespace (an
   * OCI config without one): the tree built in the mount namespace the plan created is cloned
   * detached, the process returns to the spawner's namespace and chroots into the clone, so
   * nothing is ever mounted in the spawner's namespace and ".." at the top leads nowhere.
   */
  | { op: 'chroot' };

export interface ProcessUser {
  uid: number;
  gid: number;
  /** Supplementary groups; setgroups() gets exactly this list. */
  groups: number[];
}

/**
 * What the child's file descriptors 0, 1, 2 become. Numbers are fds in the spawning process;
 * 'null' opens /dev/null; 'inherit' keeps the spawner's own.
 */
export type StdioSpec = number | 'null' | 'inherit';

/** Everything the executor needs to start one process. */
export interface ProcessPlan {
  /** For error messages only: `container "web"` in pod "demo". */
  pod: string;
  container: string;
  namespaces: NamespaceOp[];
  /** Bring loopback up (the process that creates the pod's network namespace does this). */
  loopbackUp: boolean;
  /** sethostname(); only when this process creates its UTS namespace. */
  hostname?: string;
  /** setdomainname() (an OCI config's domainname); only with a UTS namespace of its own. */
  domainname?: string;
  mounts: MountOp[];
  user: ProcessUser;
  /** Capabilities kept (bounding, permitted, effective, inheritable), CAP_* names. null = keep all. */
  capabilities: string[] | null;
  noNewPrivileges: boolean;
  /** Working directory inside the container (created before pivot when the plan says so). */
  cwd: string;
  /** argv[0] is looked up in PATH (from env) inside the container when it has no slash. */
  argv: string[];
  env: string[];
  /** Start a new session (setsid); with a terminal, make stdin the controlling tty. */
  setsid?: boolean;
  controllingTty?: boolean;
  /** Sent to the process when its spawner dies (pause dies with its supervisor). */
  parentDeathSignal?: 'SIGKILL' | 'SIGTERM';
  /**
   * cgroup directories the process joins before anything else (the executor writes "0"
   * into each one's cgroup.procs, from fds opened by the spawner): before its execve, so
   * nothing it runs is ever outside its limits.
   */
  cgroups?: string[];
  /** Written to /proc/self/oom_score_adj before the namespaces are entered. */
  oomScoreAdj?: number;
  /** The system call filter installed right before execve (src/plan/seccomp.ts); absent: none. */
  seccomp?: SeccompPlan;
  /** setrlimit before the identity step (an OCI config's process.rlimits). */
  rlimits?: { type: string; soft: number; hard: number }[];
  /**
   * The five capability sets exactly (an OCI config's process.capabilities), instead of the
   * one list `capabilities` is: the inheritable and ambient sets as the config says.
   */
  capabilitySets?: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
  /** Written to /proc/sys/NAME (dots as slashes) in the process's namespaces, before its mounts (an OCI config's linux.sysctl). */
  sysctls?: { name: string; value: string }[];
  /**
   * An OCI config's startContainer hooks, run by the process itself once its start gate
   * opens, before its execve: in all its namespaces, under its root (path resolved there), as
   * its user, the container's state on stdin. Only with a start gate (minipod-oci's create).
   */
  startHooks?: { path: string; args: string[]; env: string[]; timeout?: number }[];
}

/** The whole of what `minipod plan` prints for one pod. */
import type { HostOp } from './host-ops.ts';
import type { CgroupOp, ContainerCgroup } from '../cgroups/plan.ts';
import type { QosClass } from '../cgroups/resources.ts';
import type { SeccompPlan } from './seccomp.ts';
import type { UserNamespacePlan } from './userns.ts';

export interface PodPlan {
  pod: string;
  uid: string;
  namespace: string;
  /** Directories of the pod on the host. */
  dirs: { run: string; lib: string };
  /** The infra process that holds the pod's namespaces. */
  pause: ProcessPlan;
  initContainers: ContainerPlan[];
  containers: ContainerPlan[];
  /** Host-side work done by the parent before containers start, in order, for display. */
  hostSteps: HostStep[];
  /** The network wiring, executed by the supervisor over netlink once pause runs (host-ops.ts). */
  hostOps: HostOp[];
  terminationGracePeriodSeconds: number;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  /** The pod's cgroups: created by the supervisor before pause starts, in order (journaled). */
  cgroups?: { version: 1 | 2; path: string; qosClass: QosClass; ops: CgroupOp[] };
  /** hostUsers: false: the user namespace the supervisor makes before pause ("@pod/user"). */
  userNamespace?: UserNamespacePlan;
  /**
   * A Job's pod: the supervisor runs its app containers again until `completions` runs
   * succeeded, or more than `backoffLimit` failed (their own restartPolicy is then Never).
   */
  job?: { completions: number; backoffLimit: number };
  /** spec.activeDeadlineSeconds: the pod fails (DeadlineExceeded) this long after its start. */
  activeDeadlineSeconds?: number;
}

export interface ContainerPlan {
  name: string;
  image: string;
  /** Resolved image directory on the host (the overlay's lower layer). */
  imageDir: string;
  process: ProcessPlan;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  /** An init container that keeps running beside the app containers. */
  sidecar: boolean;
  stopSignal: string;
  /** CRI log file directory; N.log per start. */
  logDir: string;
  /** Per-start writable layer root: upper-N / work-N are created under it. */
  layerDir: string;
  /** Liveness, readiness and startup probes (src/plan/probes.ts); absent: none. */
  probes?: ProbesPlan;
  /** lifecycle.postStart / preStop; absent: none. */
  hooks?: HooksPlan;
  /** Where argv, the user, the working directory and the stop signal came from (image or manifest), for `minipod plan`. */
  origins?: { argv: string; user: string; cwd: string; stopSignal: string };
  /** Its cgroup: the supervisor kills through it what a run leaves, and reads its OOM kills there. */
  cgroup?: ContainerCgroup;
  /** Host ids that own each start's fresh upper directory (the container's root, with a user namespace). */
  layerOwner?: { uid: number; gid: number };
}

/** A host-side action, e.g. `ip link add ...`, shown by `minipod plan`. */
export interface HostStep {
  what: string;
  command: string[];
}
