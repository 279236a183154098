// Starting a pod: everything between a validated manifest and running containers.
//
//   resolve images, build the plan          (nothing on the host yet: bad input leaves nothing)
//   reserve the name (mkdir), state.json    (from here on, a failure tears everything down)
//   address, /etc files, bridge, volumes    (each host change journaled in state.json first)
//   layer and log directories, /dev/shm tmpfs
//   plan.json, then the supervisor          -> it pins pause, runs the plan's host operations
//                                              (veth, addresses, routes, nft), says "pause PID";
//                                              from here on state.json is the supervisor's
//   "go"                                    -> init containers, then app containers; "running"
//
// When the pod ends, its supervisor unwinds the journal itself (native/shim/unwind.c).

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { hostLayout } from '../cgroups/layout.ts';
import { DEFAULT_CGROUP_PARENT, planCgroups, type PodCgroups } from '../cgroups/plan.ts';
import { FieldError, MinipodError } from '../errors.ts';
import type { NativeBinding } from '../native/binding.ts';
import { helperBinary } from '../native/load.ts';
import { layerDir, logDir, shmDir } from '../plan/container.ts';
import { SHM_SIZE } from '../plan/defaults.ts';
import { buildPodPlan, pauseRootDir, podHostname } from '../plan/pod.ts';
import { checkLsmFields } from '../plan/lsm.ts';
import { checkUserNamespace, USERNS_SIZE } from '../plan/userns.ts';
import { allocateIds, peekIds } from '../state/userns-ids.ts';
import { sysctlOps } from '../plan/sysctls.ts';
import type { PodPlan } from '../plan/types.ts';
import type { ConfigMap, Pod, Secret } from '../spec/types.ts';
import type { JobParams } from '../spec/workloads.ts';
import { writeJsonAtomic } from '../state/files.ts';
import { journal, readHost, recordHost, type HostRecord } from '../state/host.ts';
import { podLiveness } from './liveness.ts';
import { podDirs, type PodDirs, type StateRoots } from '../state/paths.ts';
import { readState, stateFile } from '../state/status.ts';
import type { PullEvent } from '../image/index.ts';
import type { NetOptions } from '../net/config.ts';
import { ensureImages, resolveContainerImages, type PullMode } from './images.ts';
import { contributeNetwork } from '../net/hook.ts';
import { prepareNetwork } from '../net/setup.ts';
import { forgetBridgeDir } from '../net/undo.ts';
import { contributeVolumes } from '../volumes/contribute.ts';
import { prepareVolumes } from '../volumes/prepare.ts';
import { mergeContributions, type HookContext, type PlanContext } from './phases.ts';
import { InitFailed, watchInit } from './init-watch.ts';
import { recordEvent, type PodEvent } from './events.ts';
import { reservePod } from './reserve.ts';
import { PodEndedEarly, SupervisorLink } from './supervisor.ts';
import { teardownPod } from './teardown.ts';

export interface StartOptions {
  native: NativeBinding;
  roots: StateRoots;
  /**
   * foreground: output streamed to our stdout/stderr; we tear the pod down when it ends
   *   (and the supervisor does, if we die first).
   * detached: `run -d`; the pod stays after we return; an ended pod keeps its state for
   *   `ps -a` and `logs` until `rm`.
   * owned: the API; the pod stays while we live, is removed when we exit or die (an
   *   ended pod keeps its state until remove(), or until we exit).
   */
  mode: 'foreground' | 'detached' | 'owned';
  manifest?: string;
  /** Restart backoff base; Kubernetes uses 10 s (tests use less). */
  backoffInitialMs?: number;
  /** ConfigMaps and Secrets that come with the pod. */
  configMaps?: ConfigMap[];
  secrets?: Secret[];
  /** Images without an imagePullPolicy: pull when missing (default), always, or never. */
  pull?: PullMode;
  /** Each step of the pulls: which image for which container, then the pull's own events. */
  onPull?: (event: PullEvent | { type: 'pulling'; ref: string; container: string }) => void;
  /** A registries.yaml for pulls (else MINIPOD_REGISTRIES_CONF, else /etc/minipod/registries.yaml). */
  registries?: string;
  /** Bridge, subnet, masquerade (else MINIPOD_BRIDGE / MINIPOD_SUBNET / MINIPOD_NO_MASQUERADE, else the defaults). */
  network?: NetOptions;
  /** The cgroup the pod's cgroup goes under (else MINIPOD_CGROUP_PARENT, else /minipod). */
  cgroupParent?: string;
  /** false: no cgroups at all (refused for a pod with cpu or memory resources). */
  cgroups?: boolean;
  /** Unsafe (namespaced) sysctls the pod may set: names or "prefix.*" (the kubelet's --allow-unsafe-sysctls). */
  allowUnsafeSysctls?: string[];
  /** RuntimeDefault seccomp for containers that do not say (the kubelet's --seccomp-default). */
  seccompDefault?: boolean;
  /**
   * Detached: what the wait for the pod to run is at (which init container runs). With it,
   * a failing init container ends the wait (the pod is left); initTimeoutMs bounds it.
   */
  onWaiting?: (line: string) => void;
  initTimeoutMs?: number;
  /** A Job's pod (src/spec/workloads.ts): its share of completions and its backoffLimit. */
  job?: JobParams;
  /** Foreground output as "[pod/container] line" (several pods run at once). */
  prefixPod?: boolean;
}

export interface StartedPod {
  name: string;
  host: HostRecord;
  plan: PodPlan;
  link: SupervisorLink;
  /** What the network's prepare learnt: facts.podIP. */
  facts: HookContext['facts'];
}

/** plan.json's format; the supervisor refuses another (native/shim/shim.h MP_PLAN_VERSION). */
export const PLAN_VERSION = 2;

/** Whether this process may lower oom_score_adj below 0 (CAP_SYS_RESOURCE, bit 24 of CapEff). */
function canLowerOomScore(): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return !!m && (BigInt(`0x${m[1]}`) & (1n << 24n)) !== 0n;
}

/** The pod's cgroups on this host's hierarchy; refused when there is none (limits could not be kept). */
function podCgroups(pod: Pod, ctx: PlanContext): PodCgroups | undefined {
  if (ctx.cgroups === false || (ctx.cgroups === undefined && process.env.MINIPOD_CGROUPS === 'disabled')) {
    // As podman's --cgroups=disabled: for measuring, or a host without cgroups. Limits
    // would silently not be kept, so a pod that sets any is refused.
    const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    const i = all.findIndex((c) => Object.keys({ ...c.resources?.limits, ...c.resources?.requests }).some((k) => k === 'cpu' || k === 'memory'));
    if (i >= 0) throw new FieldError(`spec.${i < (pod.spec.initContainers ?? []).length ? 'initContainers' : 'containers'}[${i < (pod.spec.initContainers ?? []).length ? i : i - (pod.spec.initContainers ?? []).length}].resources`, 'cpu and memory need cgroups, which are disabled (--cgroups disabled, MINIPOD_CGROUPS)');
    return undefined;
  }
  const layout = hostLayout();
  if (!layout) throw new MinipodError('no cgroup filesystem is mounted (/proc/self/mountinfo lists none): minipod puts every pod in a cgroup', { code: 'ERR_MINIPOD_CGROUP' });
  return planCgroups({
    pod,
    uid: ctx.uid,
    layout,
    parent: ctx.cgroupParent ?? process.env.MINIPOD_CGROUP_PARENT ?? DEFAULT_CGROUP_PARENT,
    memoryCapacity: os.totalmem(),
    canLowerOomScore: canLowerOomScore(),
  });
}

/**
 * hostPID / hostIPC as Kubernetes validates them, and one rule of minipod's: the pod's
 * processes are then found and killed through its cgroups (its IPC namespace is the
 * host's), so the pod must have them.
 */
function checkHostNamespaces(pod: Pod, cgroups: PodCgroups | undefined): void {
  if (pod.spec.hostPID && pod.spec.shareProcessNamespace) throw new FieldError('spec.shareProcessNamespace', 'cannot be set together with hostPID (the pod shares the host\'s pid namespace)');
  for (const f of ['hostPID', 'hostIPC'] as const) {
    if (pod.spec[f] && !cgroups) throw new FieldError(`spec.${f}`, 'needs the pod\'s cgroups (they are disabled): its processes could not be told from the host\'s');
  }
}

/** The plan of a pod as `run` would build it: also what `minipod plan` prints. */
export function planPod(pod: Pod, ctx: PlanContext): PodPlan {
  const extra = mergeContributions([contributeNetwork(ctx), contributeVolumes(ctx)]);
  const cgroups = podCgroups(pod, ctx);
  checkHostNamespaces(pod, cgroups);
  checkLsmFields(pod);
  checkUserNamespace(pod);
  const shm = shmDir(ctx.dirs);
  return buildPodPlan({
    pod,
    uid: ctx.uid,
    hostname: podHostname(pod),
    dirs: ctx.dirs,
    images: resolveContainerImages(ctx.roots, pod),
    pauseBinary: helperBinary('minipod-pause'),
    extraMounts: extra.mounts,
    resolvedEnv: extra.env,
    hostSteps: [
      { what: "mount the pod's /dev/shm", command: ['mount', '-t', 'tmpfs', '-o', `nosuid,nodev,noexec,mode=1777,size=${SHM_SIZE}`, 'shm', shm] },
      ...extra.hostSteps,
    ],
    seccomp: { seccompDefault: ctx.seccompDefault ?? process.env.MINIPOD_SECCOMP_DEFAULT === '1', profileDir: path.join(ctx.roots.lib, 'seccomp') },
    hostOps: [...(extra.hostOps ?? []), ...sysctlOps(pod, ctx.allowUnsafeSysctls ?? (process.env.MINIPOD_ALLOW_UNSAFE_SYSCTLS ?? '').split(',').filter(Boolean))],
    cgroups,
    ...(pod.spec.hostUsers === false ? { userBase: ctx.userBase ?? peekIds(ctx.roots) } : {}),
    ...(ctx.job ? { job: ctx.job } : {}),
  });
}

/**
 * What of a start can refuse the pod, done before anything of it is on the host: its name
 * (taken by a pod that exists), its images (pulled when the policy says), its plan. `run` of
 * a stream checks every pod so before it starts any.
 */
export async function preflightPod(pod: Pod, o: Omit<StartOptions, 'mode'>, replace = false): Promise<void> {
  const name = pod.metadata.name;
  const dirs = podDirs(o.roots, name);
  if (!replace && existsSync(dirs.run)) {
    const live = podLiveness(readHost(dirs), dirs);
    if (live !== 'stale') throw new MinipodError(`pod "${name}" already exists${live === 'ended' ? ' (it has ended)' : ''}; remove it with \`minipod rm ${name}\`, or run with --replace`, { code: 'EEXIST' });
  }
  await ensureImages(o.roots, pod, o.pull ?? 'missing', o.onPull, o.registries);
  planPod(pod, contextOf(pod, o, '(preflight)', dirs));
}

/** What planning a pod needs of a start's options. */
function contextOf(pod: Pod, o: Omit<StartOptions, 'mode'>, uid: string, dirs: PodDirs): PlanContext {
  return {
    pod,
    uid,
    roots: o.roots,
    dirs,
    configMaps: o.configMaps ?? [],
    secrets: o.secrets ?? [],
    network: o.network,
    cgroupParent: o.cgroupParent,
    cgroups: o.cgroups,
    allowUnsafeSysctls: o.allowUnsafeSysctls,
    seccompDefault: o.seccompDefault,
    ...(o.job ? { job: o.job } : {}),
    facts: {},
  };
}

/** The first container that failed, for a message; the state says what the kernel said. */
function whatFailed(dirs: PodDirs): string {
  const c = readState(dirs)?.containers.find((x) => x.state === 'terminated' && (x.exitCode !== 0 || x.error));
  if (!c) return 'see minipod ps -a';
  const how = c.error ? `failed to start (${c.reason ?? 'StartError'})` : c.signal ? `was killed by signal ${c.signal}` : `exited with code ${c.exitCode}`;
  return `${c.init ? 'init container' : 'container'} "${c.name}" ${how}; see minipod logs ${readState(dirs)?.pod} -c ${c.name}`;
}

export async function startPod(pod: Pod, o: StartOptions): Promise<StartedPod> {
  const name = pod.metadata.name;
  const dirs = podDirs(o.roots, name);
  const ctx: HookContext = { native: o.native, ...contextOf(pod, o, randomUUID(), dirs) };
  const shimBinary = helperBinary('minipod-shim');
  // Images first: a pull is the only slow, fallible step that touches nothing of the pod.
  // What it did becomes the pod's first events, once the pod has a directory.
  const early: Omit<PodEvent, 'time'>[] = [];
  const pulling = new Map<string, { container: string; t0: number }>();
  await ensureImages(o.roots, pod, o.pull ?? 'missing', (e) => {
    if (e.type === 'pulling') {
      pulling.set(e.ref, { container: e.container, t0: Date.now() });
      early.push({ type: 'Normal', reason: 'Pulling', container: e.container, message: `Pulling image "${e.ref}"` });
    } else if (e.type === 'stored') {
      for (const [ref, p] of pulling) early.push({ type: 'Normal', reason: 'Pulled', container: p.container, message: `Successfully pulled image "${ref}" in ${((Date.now() - p.t0) / 1000).toFixed(3)}s` });
      pulling.clear();
    }
    o.onPull?.(e);
  }, o.registries);
  // Plan once before touching the host: every manifest error is reported with nothing to
  // undo. The host is then prepared (an address, files) and the plan is rebuilt.
  let plan = planPod(pod, ctx);

  const host = await reservePod(o.native, o.roots, {
    pod: name,
    uid: ctx.uid,
    namespace: pod.metadata.namespace ?? 'default',
    createdAt: new Date().toISOString(),
    manifest: o.manifest,
    detached: o.mode !== 'foreground',
  });
  let link: SupervisorLink | undefined;
  try {
    writeJsonAtomic(path.join(dirs.run, 'pod.json'), pod); // the manifest, for inspect
    recordEvent(dirs, { type: 'Normal', reason: 'Scheduled', container: null, message: `Successfully assigned ${pod.metadata.namespace ?? 'default'}/${name} to ${os.hostname()}` });
    for (const e of early) recordEvent(dirs, e);
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      if (!early.some((e) => e.container === c.name)) recordEvent(dirs, { type: 'Normal', reason: 'Pulled', container: c.name, message: `Container image "${c.image}" already present on machine` });
    }
    if (pod.spec.hostUsers === false) {
      // The lease file is made and named in one step and names its owner: should we die
      // before the journal has it, gc finds it by its owner.
      const lease = allocateIds(o.roots, { pod: name, uid: ctx.uid });
      journal(host, { op: 'lease', file: lease.file, uid: ctx.uid });
      recordHost(host, (r) => (r.userNamespace = { hostID: lease.base, size: USERNS_SIZE }));
      ctx.userBase = lease.base;
    }
    // The network first: the volumes' env fieldRefs (status.podIP) read its facts.
    Object.assign(ctx.facts, await prepareNetwork(ctx, host));
    prepareVolumes(ctx, host);
    if (ctx.facts.podIP) recordHost(host, (r) => (r.podIP = ctx.facts.podIP));
    plan = planPod(pod, ctx);
    if (plan.cgroups) {
      const names = [...plan.initContainers, ...plan.containers].map((c) => c.name);
      recordHost(host, (r) => (r.cgroups = { version: plan.cgroups!.version, path: plan.cgroups!.path, containers: names }));
    }

    for (const c of [...plan.initContainers, ...plan.containers]) {
      // upper-N and work-N are made by the supervisor, fresh for every start.
      mkdirSync(path.join(layerDir(dirs, c.name), 'rootfs'), { recursive: true, mode: 0o700 });
      mkdirSync(logDir(dirs, c.name), { recursive: true });
    }
    mkdirSync(pauseRootDir(dirs), { mode: 0o700 });
    const shm = shmDir(dirs);
    mkdirSync(shm, { recursive: true });
    journal(host, { op: 'umount', path: shm });
    o.native.mount('shm', shm, 'tmpfs', ['nosuid', 'nodev', 'noexec'], `mode=1777,size=${SHM_SIZE}`);

    // 0600: the plan holds the containers' env, Secret values included.
    writeJsonAtomic(path.join(dirs.run, 'plan.json'), {
      version: PLAN_VERSION,
      pod: plan,
      supervisor: {
        attach: o.mode === 'foreground',
        ...(o.prefixPod ? { prefixPod: true } : {}),
        stateFile: stateFile(dirs),
        waitForGo: true,
        backoff: { initialMs: o.backoffInitialMs ?? 10_000, maxMs: 300_000, resetMs: 600_000 },
        // What the supervisor does when the pod ends (whoever is attached): a foreground
        // pod goes entirely; a detached or owned one keeps its state for ps -a and logs.
        // Removed (rm) or orphaned (its owner died): everything goes, whatever this says.
        atExit: o.mode === 'foreground' ? 'remove' : 'keep',
      },
    }, 0o600);
    link = SupervisorLink.launch(o.native, {
      pod: name,
      runDir: dirs.run,
      shimBinary,
      attach: o.mode === 'foreground',
      logFile: path.join(dirs.run, 'supervisor.log'),
    });
    // From here on state.json is the supervisor's: it records itself, pause and the pin.
    await link.waitFor('pause');
    link.send('go');
    if (o.onWaiting && o.mode === 'detached') {
      const watch = watchInit(dirs, plan, o.onWaiting, o.initTimeoutMs);
      try {
        await Promise.race([link.waitFor('running'), watch.failed]);
      } finally {
        watch.stop();
      }
    } else {
      await link.waitFor('running');
    }
    return { name, host, plan, link, facts: ctx.facts };
  } catch (e) {
    if (e instanceof InitFailed && link) {
      // The pod stays as it is, its supervisor going on without us: for ps, logs and rm.
      await link.detach();
      throw e;
    }
    if (e instanceof PodEndedEarly && link && o.mode === 'detached') {
      // It ran and ended on its own; its supervisor undoes the host side and keeps the
      // state, so that `ps -a` and `logs` show what happened.
      await link.waitExit();
      link.close();
      throw new MinipodError(`pod "${name}" ended (${e.phase}) before all its containers were running: ${whatFailed(dirs)}`, { exitCode: 1 });
    }
    if (link && !link.exited) {
      link.send('remove'); // the supervisor stops the pod at once and removes everything
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([link.waitExit(), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer); // or the caller would stay alive for up to 10 s more
    }
    link?.close();
    // What no supervisor undid (it never started, or it died): the same unwinder, here.
    if (existsSync(dirs.run) || existsSync(dirs.lib)) await teardownPod(o.native, o.roots, name);
    // A bridge refused before it was made (--bridge named a veth) keeps no state behind.
    const n = host.network as { netDir?: string; bridge?: string } | undefined;
    if (n?.netDir && n.bridge) forgetBridgeDir(n.netDir, n.bridge, []);
    throw e;
  }
}
