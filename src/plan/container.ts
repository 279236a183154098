// The plan of one container: namespaces, mounts, identity, env and argv, from its manifest
// entry, its pod and its image. Pure: no file is read, nothing is started.

import path from 'node:path';

import { FieldError } from '../errors.ts';
import type { Container, Pod } from '../spec/types.ts';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, DEFAULT_PATH, protectionMounts, systemMounts } from './defaults.ts';
import { expand, expandEnvList, type EnvEntry } from './expand.ts';
import { withProbes } from './probes.ts';
import { seccompFor, type SeccompChoice } from './seccomp.ts';
import { memberGroups, resolveImageUser, userOfUid, type ImageUsers } from '../image/users.ts';
import type { ContainerPlan, MountOp, NamespaceOp, ProcessUser } from './types.ts';

/** An image as the planner needs it: where its tree is and its defaults. */
export interface ImageInfo {
  ref: string;
  rootfs: string;
  env: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  user?: string;
  /** The image's StopSignal (SIGQUIT, QUIT or 3), used when lifecycle.stopSignal is unset. */
  stopSignal?: string;
  /** The image's /etc/passwd and /etc/group, read by whoever resolved the image. */
  users?: ImageUsers;
  /** A layered image: its layer directories, top first (the overlay's lowerdir order). */
  lower?: string[];
}

/** What every container of one pod shares. */
export interface PodContext {
  pod: Pod;
  uid: string;
  hostname: string;
  dirs: { run: string; lib: string };
  /** Image of each container, by container name. */
  images: Map<string, ImageInfo>;
  /** Mounts contributed by volumes and by the network (/etc/hosts ...), per container name. */
  extraMounts?: Map<string, MountOp[]>;
  /**
   * The container's env list fully resolved by a hook (envFrom, then env with valueFrom
   * looked up), in Kubernetes' order, per container name. When absent, the manifest's plain
   * `value` entries are used.
   */
  resolvedEnv?: Map<string, EnvEntry[]>;
  /** How seccompProfile is decided (src/plan/seccomp.ts); absent: RuntimeDefault only when asked. */
  seccomp?: SeccompChoice;
}

export function shmDir(dirs: { run: string }): string {
  return path.join(dirs.run, 'shm');
}

export function layerDir(dirs: { lib: string }, container: string): string {
  return path.join(dirs.lib, 'containers', container);
}

export function logDir(dirs: { lib: string }, container: string): string {
  return path.join(dirs.lib, 'logs', container);
}

function capName(c: string): string {
  const u = c.toUpperCase();
  return u === 'ALL' ? u : u.startsWith('CAP_') ? u : `CAP_${u}`;
}

function capabilities(c: Container, field: string): string[] | null {
  const sc = c.securityContext;
  if (sc?.privileged) return null;
  const drop = new Set((sc?.capabilities?.drop ?? []).map(capName));
  const add = (sc?.capabilities?.add ?? []).map(capName);
  let caps: string[] = drop.has('ALL') ? [] : DEFAULT_CAPABILITIES.filter((x) => !drop.has(x));
  for (const a of add) {
    if (a === 'ALL') caps = [...ALL_CAPABILITIES];
    else if (!(ALL_CAPABILITIES as readonly string[]).includes(a)) {
      throw new FieldError(`${field}.securityContext.capabilities.add`, `unknown capability "${a}"`);
    } else if (!caps.includes(a)) caps.push(a);
  }
  return caps;
}

/**
 * The container's user, the way containerd's CRI plugin resolves it (src/image/users.ts):
 * runAsUser/runAsGroup over the image's User, names through the image's /etc/passwd and
 * /etc/group; supplementary groups = the primary gid, supplementalGroups, fsGroup, and the
 * image's groups that list the user. `from` says where the uid came from, for the plan.
 */
function identity(pod: Pod, c: Container, image: ImageInfo, field: string): { user: ProcessUser; from: string } {
  const psc = pod.spec.securityContext;
  const sc = c.securityContext;
  const users = image.users ?? { passwd: [], group: [] };
  const runAsUser = sc?.runAsUser ?? psc?.runAsUser;
  const runAsGroup = sc?.runAsGroup ?? psc?.runAsGroup;
  let uid: number;
  let gid: number;
  let name: string | undefined;
  let from: string;
  if (runAsUser !== undefined) {
    const e = userOfUid(runAsUser, users);
    uid = runAsUser;
    name = e?.name;
    gid = runAsGroup ?? e?.gid ?? 0;
    from = sc?.runAsUser !== undefined ? 'manifest (securityContext.runAsUser)' : 'manifest (spec.securityContext.runAsUser)';
  } else {
    let r;
    try {
      r = resolveImageUser(image.user, users);
    } catch (e) {
      throw new FieldError(`${field}.image`, `container "${c.name}": ${(e as Error).message}`);
    }
    ({ uid, name } = r);
    gid = runAsGroup ?? r.gid;
    from = image.user ? `image (User "${image.user}")` : 'default (root)';
  }
  const nonRoot = sc?.runAsNonRoot ?? psc?.runAsNonRoot;
  if (nonRoot && uid === 0) {
    throw new FieldError(`${field}.securityContext.runAsNonRoot`, `container has runAsNonRoot and would run as root (uid 0, from the ${from.split(' ')[0]}); set runAsUser`);
  }
  const groups = [gid, ...(psc?.supplementalGroups ?? []), ...(psc?.fsGroup !== undefined ? [psc.fsGroup] : []), ...memberGroups(name, users)];
  return { user: { uid, gid, groups: [...new Set(groups)] }, from: name ? `${from}, ${name}` : from };
}

/** Kubernetes' rule: command replaces the image's entrypoint, args replace its cmd. */
function argv(c: Container, image: ImageInfo, env: Map<string, string>, field: string): { argv: string[]; from: string } {
  const entry = c.command ?? image.entrypoint ?? [];
  const args = c.args ?? (c.command ? [] : (image.cmd ?? []));
  const lookup = (n: string) => env.get(n);
  const v = [...entry, ...args].map((a) => expand(a, lookup));
  if (!v.length || !v[0]) throw new FieldError(`${field}.command`, `no command: the image "${image.ref}" has none either; set command`);
  const from = [
    c.command ? 'command from the manifest' : image.entrypoint?.length ? 'Entrypoint from the image' : undefined,
    c.args ? 'args from the manifest' : !c.command && image.cmd?.length ? 'Cmd from the image' : undefined,
  ].filter(Boolean);
  return { argv: v, from: from.join(', ') };
}

function environment(ctx: PodContext, c: Container, image: ImageInfo): Map<string, string> {
  const env = new Map<string, string>();
  for (const e of image.env) {
    const i = e.indexOf('=');
    if (i > 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  env.set('HOSTNAME', ctx.hostname);
  const own = ctx.resolvedEnv?.get(c.name) ?? (c.env ?? []).filter((e) => !e.valueFrom).map((e) => ({ name: e.name, value: e.value ?? '' }));
  for (const [k, v] of expandEnvList(own)) env.set(k, v);
  return env;
}

/**
 * Mounts from volumes and the network, parents before children (as containerd sorts them):
 * a volume at /etc must not hide /etc/hosts mounted before it. Stable for equal depth.
 */
function byDepth(mounts: MountOp[]): MountOp[] {
  const depth = (m: MountOp) => ('dst' in m ? m.dst.split('/').filter(Boolean).length : 0);
  return mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i).map((x) => x.m);
}

export function containerPlan(ctx: PodContext, c: Container, field: string, init: boolean): ContainerPlan {
  const { pod } = ctx;
  const image = ctx.images.get(c.name);
  if (!image) throw new FieldError(`${field}.image`, `image "${c.image}" is not resolved`);
  const privileged = c.securityContext?.privileged === true;
  const layer = layerDir(ctx.dirs, c.name);
  const env = environment(ctx, c, image);

  // hostIPC / hostPID (privileged, as in Kubernetes): the host's IPC / pid namespace, as
  // pause has; /proc then shows the host's processes.
  const namespaces: NamespaceOp[] = [
    ...(pod.spec.hostIPC === true ? [] : [{ type: 'ipc', action: 'join', path: '@pause/ipc' } as NamespaceOp]),
    { type: 'uts', action: 'join', path: '@pause/uts' },
    { type: 'net', action: 'join', path: '@pause/net' },
    ...(pod.spec.hostPID === true ? [] : [pod.spec.shareProcessNamespace ? ({ type: 'pid', action: 'join', path: '@pause/pid' } as NamespaceOp) : ({ type: 'pid', action: 'create' } as NamespaceOp)]),
    { type: 'mnt', action: 'create' },
  ];

  const cwd = c.workingDir ?? image.workingDir ?? '/';
  const who = identity(pod, c, image, field);
  const command = argv(c, image, env, field);
  const mounts: MountOp[] = [
    { op: 'propagation', mode: 'rprivate' },
    {
      op: 'rootfs',
      kind: 'overlay',
      lower: image.lower ?? [image.rootfs],
      upper: path.join(layer, 'upper-0'),
      work: path.join(layer, 'work-0'),
      target: path.join(layer, 'rootfs'),
      readOnly: c.securityContext?.readOnlyRootFilesystem === true,
      // nodev: a device node made in the container's root (CAP_MKNOD added) never opens.
      // setuid files keep working inside the container, as in Kubernetes; on the host the
      // layer lies under root-only directories, so no host user can run them.
      flags: privileged ? [] : ['nodev'],
    },
    ...systemMounts(shmDir(ctx.dirs), privileged),
    ...byDepth(ctx.extraMounts?.get(c.name) ?? []),
    ...(cwd !== '/' ? [{ op: 'mkdir', dst: cwd, mode: 0o755 } as MountOp] : []),
    // procMount: Unmasked (hostUsers: false only, lsm.ts): no masked or read-only /proc paths.
    ...protectionMounts(privileged || c.securityContext?.procMount === 'Unmasked'),
    { op: 'pivot' },
  ];

  // An init container runs to completion: under a pod's Always it is retried on failure
  // only (OnFailure). A sidecar is an init container with its own restartPolicy Always.
  const podPolicy = pod.spec.restartPolicy ?? 'Always';
  const sidecar = init && c.restartPolicy === 'Always';
  const restartPolicy = sidecar ? 'Always' : init ? (podPolicy === 'Never' ? 'Never' : 'OnFailure') : podPolicy;
  const caps = capabilities(c, field);
  const seccomp = seccompFor(pod, c, field, caps, ctx.seccomp ?? { seccompDefault: false, profileDir: path.join(ctx.dirs.lib, '..', '..', 'seccomp') });
  return withProbes({
    name: c.name,
    image: image.ref,
    imageDir: image.rootfs,
    process: {
      pod: pod.metadata.name,
      container: c.name,
      namespaces,
      loopbackUp: false,
      mounts,
      user: who.user,
      capabilities: caps,
      noNewPrivileges: c.securityContext?.allowPrivilegeEscalation === false && !privileged,
      cwd,
      argv: command.argv,
      env: [...env].map(([k, v]) => `${k}=${v}`),
      ...(seccomp ? { seccomp } : {}),
    },
    restartPolicy,
    sidecar,
    stopSignal: 'SIGTERM',
    logDir: logDir(ctx.dirs, c.name),
    layerDir: layer,
    origins: {
      argv: command.from,
      user: who.from,
      cwd: c.workingDir ? 'manifest' : image.workingDir ? 'image' : 'default',
      stopSignal: c.lifecycle?.stopSignal !== undefined ? 'manifest' : image.stopSignal ? 'image' : 'default',
    },
  }, c, field, init, image.stopSignal);
}
