// Starting a pod: everything between a validated manifest and running containers.
//
//   resolve images, build the plan          (nothing on the host yet: bad input leaves nothing)
//   reserve the name (mkdir), host.json     (from here on, a failure tears everything down)
//   layer and log directories, /dev/shm tmpfs
//   plan.json, then the supervisor          -> it starts pause and says "pause PID"
//   host network for pause's netns          (src/net: prepareNetwork, the plan's host
//                                            operations in the supervisor, wirePod)
//   "go"                                    -> init containers, then app containers; "running"

import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';

import { MinipodError } from '../errors.ts';
import type { NativeBinding } from '../native/binding.ts';
import { helperBinary, packageRoot } from '../native/load.ts';
import { layerDir, logDir, shmDir } from '../plan/container.ts';
import { SHM_SIZE } from '../plan/defaults.ts';
import { buildPodPlan, pauseRootDir, podHostname } from '../plan/pod.ts';
import type { PodPlan } from '../plan/types.ts';
import type { ConfigMap, Pod, Secret } from '../spec/types.ts';
import { writeJsonAtomic } from '../state/files.ts';
import { recordHost, type HostRecord } from '../state/host.ts';
import { podDirs, type PodDirs, type StateRoots } from '../state/paths.ts';
import { isAlive, nsInode, nsInodeOf, procRef } from '../state/proc.ts';
import { readState, stateFile } from '../state/status.ts';
import type { PullEvent } from '../image/index.ts';
import type { NetOptions } from '../net/config.ts';
import { ensureImages, resolveContainerImages, type PullMode } from './images.ts';
import { contributeNetwork } from '../net/hook.ts';
import { prepareNetwork, wirePod } from '../net/setup.ts';
import { contributeVolumes } from '../volumes/contribute.ts';
import { prepareVolumes } from '../volumes/prepare.ts';
import { mergeContributions, type HookContext, type PlanContext } from './phases.ts';
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
}

export interface StartedPod {
  name: string;
  host: HostRecord;
  plan: PodPlan;
  link: SupervisorLink;
  /** What the network's prepare learnt: facts.podIP. */
  facts: HookContext['facts'];
}

function rootArgs(roots: StateRoots): string[] {
  return process.env.MINIPOD_ROOT ? ['--root', path.dirname(roots.run)] : [];
}

/** plan.json's format; the supervisor refuses another (native/shim/shim.h MP_PLAN_VERSION). */
export const PLAN_VERSION = 1;

/** The plan of a pod as `run` would build it: also what `minipod plan` prints. */
export function planPod(pod: Pod, ctx: PlanContext): PodPlan {
  const extra = mergeContributions([contributeNetwork(ctx), contributeVolumes(ctx)]);
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
    hostOps: extra.hostOps,
  });
}

/**
 * Records pause and pins its IPC namespace: a bind mount of /proc/PID/ns/ipc in the pod's
 * run directory (recorded first, like every host change). Teardown and gc find the pod's
 * processes by that namespace; pinned, its inode cannot be handed to another namespace even
 * once every process of the pod is gone. The pin counts only if pause was still the same
 * process after it was made.
 */
function pinPause(native: NativeBinding, host: HostRecord, pid: number): void {
  const ref = procRef(pid);
  if (!ref) throw new MinipodError(`pod "${host.pod}": pause (pid ${pid}) exited right after it started`);
  const pin = path.join(host.dirs.run, 'ipc.ns');
  recordHost(host, (r) => {
    r.pause = { ...ref, ipcNs: nsInode(pid, 'ipc'), netNs: nsInode(pid, 'net') };
    r.mounts.push(pin);
  });
  closeSync(openSync(pin, 'wx', 0o600));
  native.mount(`/proc/${pid}/ns/ipc`, pin, '', ['bind']);
  if (!isAlive(ref) || nsInodeOf(pin) !== host.pause!.ipcNs) {
    throw new MinipodError(`pod "${host.pod}": pause (pid ${pid}) exited while its namespace was being pinned`);
  }
  recordHost(host, (r) => (r.pause!.ipcPin = pin));
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
  const ctx: HookContext = {
    native: o.native,
    pod,
    uid: randomUUID(),
    roots: o.roots,
    dirs,
    configMaps: o.configMaps ?? [],
    secrets: o.secrets ?? [],
    network: o.network,
    facts: {},
  };
  const shimBinary = helperBinary('minipod-shim');
  // Images first: a pull is the only slow, fallible step that touches nothing of the pod.
  await ensureImages(o.roots, pod, o.pull ?? 'missing', o.onPull, o.registries);
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
    // The network first: the volumes' env fieldRefs (status.podIP) read its facts.
    Object.assign(ctx.facts, await prepareNetwork(ctx, host));
    prepareVolumes(ctx, host);
    if (ctx.facts.podIP) recordHost(host, (r) => (r.podIP = ctx.facts.podIP));
    plan = planPod(pod, ctx);

    for (const c of [...plan.initContainers, ...plan.containers]) {
      // upper-N and work-N are made by the supervisor, fresh for every start.
      mkdirSync(path.join(layerDir(dirs, c.name), 'rootfs'), { recursive: true, mode: 0o700 });
      mkdirSync(logDir(dirs, c.name), { recursive: true });
    }
    mkdirSync(pauseRootDir(dirs), { mode: 0o700 });
    const shm = shmDir(dirs);
    mkdirSync(shm, { recursive: true });
    recordHost(host, (r) => r.mounts.push(shm));
    o.native.mount('shm', shm, 'tmpfs', ['nosuid', 'nodev', 'noexec'], `mode=1777,size=${SHM_SIZE}`);

    const teardown = [process.execPath, path.join(packageRoot(), 'dist', 'minipod.js'), '__teardown', ...rootArgs(o.roots)];
    // 0600: the plan holds the containers' env, Secret values included.
    writeJsonAtomic(path.join(dirs.run, 'plan.json'), {
      version: PLAN_VERSION,
      pod: plan,
      supervisor: {
        attach: o.mode === 'foreground',
        stateFile: stateFile(dirs),
        waitForGo: true,
        backoff: { initialMs: o.backoffInitialMs ?? 10_000, maxMs: 300_000, resetMs: 600_000 },
        onExit: [...teardown, '--keep-state', name],
        onOwnerGone: [...teardown, name],
        // A pod that ends before `run -d` has detached is still undone by its supervisor.
        teardownAtExit: o.mode !== 'foreground',
      },
    }, 0o600);
    link = SupervisorLink.launch(o.native, {
      pod: name,
      runDir: dirs.run,
      shimBinary,
      attach: o.mode === 'foreground',
      logFile: path.join(dirs.run, 'supervisor.log'),
    });
    const sup = procRef(link.pid);
    recordHost(host, (r) => (r.supervisor = sup));
    const { pid } = await link.waitFor('pause');
    pinPause(o.native, host, pid);
    await wirePod(ctx, host);
    link.send('go');
    await link.waitFor('running');
    return { name, host, plan, link, facts: ctx.facts };
  } catch (e) {
    if (e instanceof PodEndedEarly && link && o.mode === 'detached') {
      // It ran and ended on its own. We are still attached, so the supervisor leaves the
      // teardown to us; keep the state, so that `ps -a` and `logs` show what happened.
      await link.waitExit();
      link.close();
      await teardownPod(o.native, o.roots, name, { keepState: true });
      throw new MinipodError(`pod "${name}" ended (${e.phase}) before all its containers were running: ${whatFailed(dirs)}`, { exitCode: 1 });
    }
    if (link && !link.exited) {
      link.send('kill');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([link.waitExit(), new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer); // or the caller would stay alive for up to 5 s more
    }
    link?.close();
    await teardownPod(o.native, o.roots, name);
    throw e;
  }
}
